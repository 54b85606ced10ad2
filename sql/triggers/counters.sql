-- Counting: progress kept per user and badge in gamification.progress, advanced
-- set-based by the statement's counts, O(1) per row whatever the user's history.

CREATE FUNCTION gamification._count_many(p_codes text[], p_users text[], p_steps bigint[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_codes text[];
    v_users text[];
BEGIN
    -- Upsert in (user, badge) order (a fixed lock order, so concurrent writers cannot
    -- deadlock here) and award the pairs whose progress crossed the badge's target.
    WITH step AS (
        SELECT s.user_id, s.code, pg_catalog.sum(s.n)::bigint AS n
          FROM ROWS FROM (pg_catalog.unnest(p_users), pg_catalog.unnest(p_codes), pg_catalog.unnest(p_steps))
               AS s(user_id, code, n)
         WHERE s.user_id IS NOT NULL AND s.n > 0
         GROUP BY s.user_id, s.code
    ),
    advanced AS (
        INSERT INTO gamification.progress AS p (user_id, badge_code, progress)
        SELECT step.user_id, step.code, step.n FROM step ORDER BY step.user_id, step.code
        ON CONFLICT (user_id, badge_code)
        DO UPDATE SET progress = p.progress + EXCLUDED.progress, updated_at = pg_catalog.now()
        RETURNING p.user_id, p.badge_code, p.progress
    )
    SELECT pg_catalog.array_agg(a.badge_code), pg_catalog.array_agg(a.user_id) INTO v_codes, v_users
      FROM advanced a
      JOIN step ON step.user_id = a.user_id AND step.code = a.badge_code
      JOIN gamification.badge b ON b.code = a.badge_code
     WHERE a.progress >= b.target AND a.progress - step.n < b.target;
    IF v_codes IS NULL THEN
        RETURN 0;
    END IF;
    RETURN gamification._grant_many(v_codes, v_users, 'progress');
END;
$$;
COMMENT ON FUNCTION gamification._count_many(text[], text[], bigint[]) IS
    'Internal, set-based over badges and users: add p_steps[i] to the progress of user p_users[i] towards badge p_codes[i] and award the pairs whose progress crosses the badge''s target. Returns the number newly awarded.';

CREATE FUNCTION gamification._count(p_code text, p_users text[], p_steps bigint[])
RETURNS integer
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT gamification._count_many(pg_catalog.array_fill(p_code, ARRAY[pg_catalog.cardinality(p_users)]), p_users, p_steps)
$$;
COMMENT ON FUNCTION gamification._count(text, text[], bigint[]) IS
    'Internal: _count_many() for one badge.';

CREATE FUNCTION gamification._badge_failed(p_code text, p_sqlstate text, p_message text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO gamification.badge_error (badge_code, sqlstate, message) VALUES (p_code, p_sqlstate, p_message);
    RAISE WARNING USING
        MESSAGE = pg_catalog.format('gamification: badge "%s" was not evaluated: %s', p_code, p_message),
        DETAIL = pg_catalog.format('SQLSTATE %s. The write itself went through.', p_sqlstate),
        HINT = 'See SELECT * FROM gamification.badge_status WHERE broken IS NOT NULL.';
END;
$$;
COMMENT ON FUNCTION gamification._badge_failed(text, text, text) IS
    'Internal: record that a trigger badge could not be evaluated inside a write, and warn; the write goes on.';
