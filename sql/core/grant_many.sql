-- _grant_many(): awarding badges to users, set-based; with _revoke() (core/awards.sql)
-- the only writer of gamification.award. Every award path ends here: triggers,
-- counters crossing a target, badge_award(), backfills.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._grant_many(p_codes text[], p_users text[], p_source text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_users text[];
    v_codes text[];
    v_points bigint[];
    v_one_points bigint;
BEGIN
    -- One pair (what a one-row statement, badge_award() or a counter step awards): the
    -- same writes as below, row by row, without the set-based statement's set-up.
    IF pg_catalog.cardinality(p_users) = 1 THEN
        IF p_users[1] IS NULL THEN
            RETURN 0;
        END IF;
        SELECT b.points INTO v_one_points FROM gamification.badge b WHERE b.code = p_codes[1] AND b.retired_at IS NULL;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        INSERT INTO gamification.award (user_id, badge_code) VALUES (p_users[1], p_codes[1])
        ON CONFLICT (user_id, badge_code) DO NOTHING;
        IF NOT FOUND THEN
            RETURN 0;  -- held already
        END IF;
        INSERT INTO gamification.award_history (user_id, badge_code, action, points, source)
        VALUES (p_users[1], p_codes[1], 'award', v_one_points, p_source);
        IF v_one_points <> 0 THEN
            INSERT INTO gamification.points_ledger (user_id, amount, reason, badge_code)
            VALUES (p_users[1], v_one_points, 'badge:' || p_codes[1], p_codes[1]);
        END IF;
        RETURN 1;
    END IF;
    -- Award badge p_codes[i] to user p_users[i], for every pair not held yet, in
    -- (user, badge) order so concurrent callers lock in the same order. Unknown and
    -- retired badges are skipped: callers check the codes they take from users.
    WITH wanted AS (
        SELECT DISTINCT w.user_id, w.code
          FROM ROWS FROM (pg_catalog.unnest(p_users), pg_catalog.unnest(p_codes)) AS w(user_id, code)
         WHERE w.user_id IS NOT NULL
    ),
    ins AS (
        INSERT INTO gamification.award (user_id, badge_code)
        SELECT w.user_id, w.code
          FROM wanted w JOIN gamification.badge b ON b.code = w.code AND b.retired_at IS NULL
         ORDER BY w.user_id, w.code
        ON CONFLICT (user_id, badge_code) DO NOTHING
        RETURNING user_id, badge_code
    )
    SELECT pg_catalog.array_agg(i.user_id ORDER BY i.user_id, i.badge_code),
           pg_catalog.array_agg(i.badge_code ORDER BY i.user_id, i.badge_code),
           pg_catalog.array_agg(b.points ORDER BY i.user_id, i.badge_code)
      INTO v_users, v_codes, v_points
      FROM ins i JOIN gamification.badge b ON b.code = i.badge_code;
    IF v_users IS NULL THEN
        RETURN 0;  -- nothing new: no history, no ledger statement (so no totals trigger)
    END IF;
    INSERT INTO gamification.award_history (user_id, badge_code, action, points, source)
    SELECT a.user_id, a.code, 'award', a.points, p_source
      FROM ROWS FROM (pg_catalog.unnest(v_users), pg_catalog.unnest(v_codes), pg_catalog.unnest(v_points))
           AS a(user_id, code, points);
    IF EXISTS (SELECT 1 FROM pg_catalog.unnest(v_points) AS p(points) WHERE p.points <> 0) THEN
        INSERT INTO gamification.points_ledger (user_id, amount, reason, badge_code)
        SELECT a.user_id, a.points, 'badge:' || a.code, a.code
          FROM ROWS FROM (pg_catalog.unnest(v_users), pg_catalog.unnest(v_codes), pg_catalog.unnest(v_points))
               AS a(user_id, code, points)
         WHERE a.points <> 0
         ORDER BY a.user_id;
    END IF;
    RETURN pg_catalog.cardinality(v_users);
END;
$$;
COMMENT ON FUNCTION gamification._grant_many(text[], text[], text) IS
    'Internal, set-based over badges and users: award badge p_codes[i] to user p_users[i] where not held; appends award history and, for badges with points, ledger rows (reason badge:<code>). Skips unknown or retired badges and null users. One pair takes a single-row path. Returns the number of new awards. The one writer of gamification.award besides _revoke().';
