-- Awards. _grant_many() (core/runtime.sql) and _revoke() are the only writers of
-- gamification.award; each works over many users at once (users taken in sorted
-- order so concurrent callers lock rows in the same order).
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._revoke(p_code text, p_users text[], p_action text DEFAULT 'revoke')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_action IS NULL OR p_action NOT IN ('revoke', 'reset') THEN
        PERFORM gamification._raise('22023',
            pg_catalog.format('gamification._revoke(): action must be "revoke" or "reset", got %s', coalesce(p_action, 'null')),
            'Use "revoke" to take a badge back, "reset" from gamification.reset().');
    END IF;
    PERFORM gamification._badge_must_exist(p_code);
    PERFORM gamification._lock_users(p_users);  -- the one lock order of every writer (core/runtime.sql)
    WITH locked AS (
        SELECT a.user_id
          FROM gamification.award a
         WHERE a.badge_code = p_code AND a.user_id = ANY (p_users)
         ORDER BY a.user_id
           FOR UPDATE
    ),
    del AS (
        DELETE FROM gamification.award a
         USING locked l
         WHERE a.badge_code = p_code AND a.user_id = l.user_id
        RETURNING a.user_id, a.badge_code
    ),
    paid AS (
        SELECT d.user_id, d.badge_code,
               coalesce((SELECT h.points FROM gamification.award_history h
                          WHERE h.user_id = d.user_id AND h.badge_code = d.badge_code AND h.action = 'award'
                          ORDER BY h.id DESC LIMIT 1), 0) AS points
          FROM del d
    ),
    hist AS (
        INSERT INTO gamification.award_history (user_id, badge_code, action, points, source)
        SELECT p.user_id, p.badge_code, p_action, -p.points, p_action FROM paid p ORDER BY p.user_id
    ),
    ledger AS (
        INSERT INTO gamification.points_ledger (user_id, amount, reason, badge_code)
        SELECT p.user_id, -p.points, 'revoke:' || p.badge_code, p.badge_code
          FROM paid p
         WHERE p.points <> 0 AND p_action = 'revoke'
         ORDER BY p.user_id
    )
    SELECT pg_catalog.count(*)::integer INTO v_count FROM paid;
    RETURN v_count;
END;
$$;
COMMENT ON FUNCTION gamification._revoke(text, text[], text) IS
    'Internal, set-based: take badge p_code back from every user of p_users holding it; appends a history row (action revoke or reset) and, for action revoke, a ledger row subtracting the points actually paid at award time (from the award''s history row, 0 if none). With action reset the caller settles the ledger. Returns the number revoked. Idempotent: revoking twice subtracts once.';

CREATE {{ or_replace }}FUNCTION gamification.badge_award(user_id text, code text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user text := gamification._require_user($1::text, 'badge_award');
BEGIN
    PERFORM gamification._require_code('badge', $2, 'badge_award');
    RETURN gamification._grant($2, ARRAY[v_user], 'manual') = 1;
END;
$$;
COMMENT ON FUNCTION gamification.badge_award(text, text) IS
    'Award a badge to a user and pay its points (a ledger row badge:CODE when they are not 0). Returns true if newly awarded, false if the user already held it (nothing paid again). Idempotent. An award after a revoke pays again, at the badge''s current points.';

CREATE {{ or_replace }}FUNCTION gamification.badge_revoke(user_id text, code text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user text := gamification._require_user($1::text, 'badge_revoke');
BEGIN
    PERFORM gamification._require_code('badge', $2, 'badge_revoke');
    RETURN gamification._revoke($2, ARRAY[v_user], 'revoke') = 1;
END;
$$;
COMMENT ON FUNCTION gamification.badge_revoke(text, text) IS
    'Take a badge back from a user and subtract the points paid when it was awarded, not its current points (a ledger row revoke:CODE). Returns true if the user held it, false otherwise (nothing subtracted). Idempotent: revoking twice subtracts once.';

CREATE {{ or_replace }}FUNCTION gamification.badge_award(user_id anyelement, code text)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.badge_award($1::text, $2) $$;
COMMENT ON FUNCTION gamification.badge_award(anyelement, text) IS
    'Same as gamification.badge_award(text, ...) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}FUNCTION gamification.badge_revoke(user_id anyelement, code text)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.badge_revoke($1::text, $2) $$;
COMMENT ON FUNCTION gamification.badge_revoke(anyelement, text) IS
    'Same as gamification.badge_revoke(text, ...) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';
