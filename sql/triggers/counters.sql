-- Counting: progress kept per user and badge in gamification.progress, advanced
-- set-based by the statement's counts, O(1) per row whatever the user's history.

CREATE FUNCTION gamification._count(p_code text, p_users text[], p_steps bigint[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_target bigint := (gamification._badge_must_exist(p_code)).target;
    v_crossed text[];
BEGIN
    -- Upsert in user order (a fixed lock order, so concurrent writers cannot deadlock
    -- here) and award the users whose progress crossed the target in this step.
    WITH step AS (
        SELECT s.user_id, pg_catalog.sum(s.n)::bigint AS n
          FROM ROWS FROM (pg_catalog.unnest(p_users), pg_catalog.unnest(p_steps)) AS s(user_id, n)
         WHERE s.user_id IS NOT NULL AND s.n > 0
         GROUP BY s.user_id
    ),
    advanced AS (
        INSERT INTO gamification.progress AS p (user_id, badge_code, progress)
        SELECT step.user_id, p_code, step.n FROM step ORDER BY step.user_id
        ON CONFLICT (user_id, badge_code)
        DO UPDATE SET progress = p.progress + EXCLUDED.progress, updated_at = pg_catalog.now()
        RETURNING p.user_id, p.progress
    )
    SELECT pg_catalog.array_agg(a.user_id ORDER BY a.user_id) INTO v_crossed
      FROM advanced a JOIN step USING (user_id)
     WHERE a.progress >= v_target AND a.progress - step.n < v_target;
    IF v_crossed IS NULL THEN
        RETURN 0;
    END IF;
    RETURN gamification._grant(p_code, v_crossed, 'progress');
END;
$$;
COMMENT ON FUNCTION gamification._count(text, text[], bigint[]) IS
    'Internal, set-based: add p_steps[i] to the progress of p_users[i] towards badge p_code and award those whose progress crosses the badge''s target. Returns the number newly awarded.';

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
