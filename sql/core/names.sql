-- Public names follow one rule: <object>_<verb> (badge_register, badge_award,
-- category_delete, triggers_sync, ...). Two names released in 0.1.0 break it; they stay,
-- as documented aliases (released API never breaks), and the names below follow the rule:
--   points_award(user, amount, reason)   = award_points(user, amount, reason)
--   points_award(user, amount, reason, point_type) = award_points(user, amount, reason, point_type)
--   user_reset(user)                     = reset(user)
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification.points_award(user_id text, amount bigint, reason text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.award_points($1, $2, $3) $$;
COMMENT ON FUNCTION gamification.points_award(text, bigint, text) IS
    'Append amount points (non-zero; negative is a penalty) to the user''s points with a reason (non-empty; it shows in points_history): one points_changed event. Returns the new total, which may go below zero. Not idempotent: each call appends an event.';

CREATE {{ or_replace }}FUNCTION gamification.points_award(user_id anyelement, amount bigint, reason text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.award_points($1::text, $2, $3) $$;
COMMENT ON FUNCTION gamification.points_award(anyelement, bigint, text) IS
    'Same as gamification.points_award(text, ...) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}FUNCTION gamification.points_award(user_id text, amount bigint, reason text, point_type text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.award_points($1, $2, $3, $4) $$;
COMMENT ON FUNCTION gamification.points_award(text, bigint, text, text) IS
    'points_award() in a point type: append amount points of point_type (a registered type; points is the default) with a reason, one points_changed event, and return the user''s new total of that type. Crossing level thresholds of the type appends a level_changed event. 42704 for a point type that is not registered.';

CREATE {{ or_replace }}FUNCTION gamification.points_award(user_id anyelement, amount bigint, reason text, point_type text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.award_points($1::text, $2, $3, $4) $$;
COMMENT ON FUNCTION gamification.points_award(anyelement, bigint, text, text) IS
    'Same as gamification.points_award(text, bigint, text, text) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}FUNCTION gamification.user_reset(user_id text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.reset($1) $$;
COMMENT ON FUNCTION gamification.user_reset(text) IS
    'Return one user to zero, keeping the history: take back every held badge (a badge_reset event each), delete their progress and the unlock times of unlockables needing points (one with points_required 0 stays held), and append one points_changed event of minus their total (reason reset) per point type, so the log stays append-only and every total is 0. Idempotent: a second reset writes nothing.';

CREATE {{ or_replace }}FUNCTION gamification.user_reset(user_id anyelement)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.reset($1::text) $$;
COMMENT ON FUNCTION gamification.user_reset(anyelement) IS
    'Same as gamification.user_reset(text) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';
