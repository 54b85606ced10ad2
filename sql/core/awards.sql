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
    v_users text[];
    v_paid bigint[];
    v_types text[];
BEGIN
    IF p_action IS NULL OR p_action NOT IN ('revoke', 'reset') THEN
        PERFORM gamification._raise('22023',
            pg_catalog.format('gamification._revoke(): action must be "revoke" or "reset", got %s', coalesce(p_action, 'null')),
            'Use "revoke" to take a badge back, "reset" from gamification.reset().');
    END IF;
    PERFORM gamification._badge_must_exist(p_code);
    PERFORM gamification._lock_users(p_users);  -- the one lock order of every writer (core/runtime.sql)
    -- What each award paid, and in which point type, is its badge_awarded event's points
    -- and type (0 if it has none; the badge's type then).
    WITH del AS (
        DELETE FROM gamification.award a
         WHERE a.badge_code = p_code AND a.user_id = ANY (p_users)
        RETURNING a.user_id
    ),
    paid AS (
        SELECT d.user_id, coalesce(e.points, 0) AS points,
               coalesce(e.point_type, (SELECT b.point_type FROM gamification.badge b WHERE b.code = p_code)) AS point_type
          FROM del d
          LEFT JOIN LATERAL (SELECT e.points, e.point_type FROM gamification.event e
                              WHERE e.user_id = d.user_id AND e.subject = p_code AND e.kind = 'badge_awarded'
                              ORDER BY e.id DESC LIMIT 1) e ON true
    )
    SELECT pg_catalog.array_agg(p.user_id ORDER BY p.user_id), pg_catalog.array_agg(p.points ORDER BY p.user_id),
           pg_catalog.array_agg(p.point_type ORDER BY p.user_id)
      INTO v_users, v_paid, v_types
      FROM paid p;
    v_count := coalesce(pg_catalog.cardinality(v_users), 0);
    IF v_count = 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO gamification.event (user_id, kind, subject, points, reason, data, point_type)
    SELECT r.user_id, CASE p_action WHEN 'revoke' THEN 'badge_revoked' ELSE 'badge_reset' END, p_code,
           CASE p_action WHEN 'revoke' THEN -r.paid ELSE 0 END,
           p_action,
           CASE p_action WHEN 'reset' THEN pg_catalog.jsonb_build_object('paid', r.paid) END,
           r.point_type
      FROM ROWS FROM (pg_catalog.unnest(v_users), pg_catalog.unnest(v_paid), pg_catalog.unnest(v_types))
           AS r(user_id, paid, point_type);
    IF p_action = 'revoke' THEN  -- reset() settles the totals itself, one event per type
        PERFORM gamification._points_apply(v_users, ARRAY(SELECT -x FROM pg_catalog.unnest(v_paid) AS x), v_types);
    END IF;
    IF EXISTS (SELECT 1 FROM gamification.leaderboard l WHERE l.ranks_by = 'badges') THEN  -- one badge fewer
        PERFORM gamification._leaderboard_badges_add(v_users, pg_catalog.array_fill(p_code, ARRAY[v_count]), -1);
    END IF;
    RETURN v_count;
END;
$$;
COMMENT ON FUNCTION gamification._revoke(text, text[], text) IS
    'Internal, set-based: take badge p_code back from every user of p_users holding it; appends a badge_revoked event subtracting the points actually paid at award time, in the point type they were paid in (its badge_awarded event''s points and type, 0 if none), or with action reset a badge_reset event (points 0, data {"paid": n}): reset() settles the total itself; either way one badge fewer on the leaderboards ranking badges. Returns the number revoked. Idempotent: revoking twice subtracts once.';

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
    'Award a badge to a user and pay its points (a badge_awarded event). Returns true if newly awarded, false if the user already held it (nothing paid again). Idempotent. An award after a revoke pays again, at the badge''s current points.';

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
    'Take a badge back from a user and subtract the points paid when it was awarded, not its current points (a badge_revoked event). Returns true if the user held it, false otherwise (nothing subtracted). Idempotent: revoking twice subtracts once.';

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
