-- Leaderboards (0.3.0, issue 19): a board ranks users by the points of a point type, or by
-- the badges they earn (of a category, or all), in a period: all time, or a repeating day,
-- week, month or year in a named time zone. Scores are kept per board, period and user
-- (gamification.leaderboard_score), written by _leaderboard_add (core/runtime.sql) with the
-- totals and awards, under the users' locks; a closed period's rows are never deleted:
-- they are its final standings. Beside them, how many users each score range holds
-- (gamification.leaderboard_count, deltas written with the scores, never waited for): a
-- user's rank is the sum of the counts of the ranges above theirs plus a count inside
-- their own range (_leaderboard_ranked_above), exact at any size. Pages and neighbours are
-- read from the index (board, period, score DESC, reached_at, user).
-- _leaderboard_recompute() is the one definition of a board's scores from the data (the
-- event log, plus what events_prune() deleted: points_total.pruned, the award rows):
-- registration fills a board with it, leaderboard_verify() compares with it and repairs,
-- history_import() moves imported points and awards into the periods they happened in.
{%- from "macros.j2" import reraise %}
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_must_exist(p_function text, p_code text)
RETURNS gamification.leaderboard
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_board gamification.leaderboard;
BEGIN
    IF p_code IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = pg_catalog.format('gamification.%s(): leaderboard code must not be null', p_function),
            HINT = 'Pass the code of a registered leaderboard (see gamification.leaderboards).';
    END IF;
    SELECT * INTO v_board FROM gamification.leaderboard b WHERE b.code = p_code;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = '42704',
            MESSAGE = pg_catalog.format('leaderboard "%s" does not exist', p_code),
            HINT = 'Register it with gamification.leaderboard_register(), or see gamification.leaderboards.';
    END IF;
    RETURN v_board;
END;
$$;
COMMENT ON FUNCTION gamification._leaderboard_must_exist(text, text) IS
    'Internal: the leaderboard row of p_code; 22004 naming the function p_function for NULL, 42704 if there is no such leaderboard.';

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_recompute(p_boards text[], p_users text[], p_since timestamptz,
                                                                     p_repair boolean)
RETURNS TABLE (leaderboard text, period_start timestamptz, user_id text, stored bigint, computed bigint,
               stored_reached_at timestamptz, computed_reached_at timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_boards text[];
    v_periods timestamptz[];
    v_users text[];
    v_stored bigint[];
    v_computed bigint[];
    v_stored_at timestamptz[];
    v_computed_at timestamptz[];
BEGIN
    -- The scores of boards p_boards (of users p_users, NULL: all; of periods ending after
    -- p_since, NULL: all) as the data says, against those stored: each difference once. A
    -- period's score is the sum of the points of the board's type of the user's events in
    -- it (an all-time board's adds the points events_prune() deleted); on a board of badges,
    -- the user's badge events in it of the board's category (or all), +1 an award, -1 a
    -- revoke or reset (an all-time board's: the badges held). Reached at the time of the
    -- last event that moved it (in the log's order). With p_repair the stored rows become
    -- those (the caller holds the users' locks).
    WITH board AS (
        SELECT b.* FROM gamification.leaderboard b WHERE b.code = ANY (p_boards)
    ),
    badge_event AS (  -- for boards of badges: each badge event counts one, up or down
        SELECT e.user_id, e.at, e.id, g.category, CASE e.kind WHEN 'badge_awarded' THEN 1 ELSE -1 END AS n
          FROM gamification.event e LEFT JOIN gamification.badge g ON g.code = e.subject
         WHERE e.kind IN ('badge_awarded', 'badge_revoked', 'badge_reset')
           AND (p_users IS NULL OR e.user_id = ANY (p_users))
           AND EXISTS (SELECT 1 FROM board b WHERE b.ranks_by = 'badges')
    ),
    src AS (
        SELECT b.code, gamification._leaderboard_period(b.period, b.time_zone, b.week_start, e.at) AS period_start,
               e.user_id, e.points, e.at, e.id
          FROM board b JOIN gamification.event e ON e.point_type = b.point_type
         WHERE e.points <> 0 AND (p_users IS NULL OR e.user_id = ANY (p_users))
        UNION ALL
        SELECT b.code, '-infinity'::timestamptz, t.user_id, t.pruned, NULL::timestamptz, NULL::bigint
          FROM board b JOIN gamification.points_total t ON t.point_type = b.point_type
         WHERE b.period = 'all' AND t.pruned <> 0 AND (p_users IS NULL OR t.user_id = ANY (p_users))
        UNION ALL
        SELECT b.code, gamification._leaderboard_period(b.period, b.time_zone, b.week_start, e.at),
               e.user_id, e.n, e.at, e.id
          FROM board b JOIN badge_event e ON b.category IS NULL OR e.category = b.category
         WHERE b.ranks_by = 'badges'
        UNION ALL
        -- An all-time board of badges ranks the badges held: events_prune() keeps only each
        -- badge's latest event, so the award rows make up the difference (0 unless pruned).
        SELECT b.code, '-infinity'::timestamptz, h.user_id, h.n, NULL::timestamptz, NULL::bigint
          FROM board b
         CROSS JOIN LATERAL (
               SELECT x.user_id, pg_catalog.sum(x.n)::bigint AS n
                 FROM (SELECT a.user_id, 1 AS n
                         FROM gamification.award a JOIN gamification.badge g ON g.code = a.badge_code
                        WHERE (b.category IS NULL OR g.category = b.category)
                          AND (p_users IS NULL OR a.user_id = ANY (p_users))
                       UNION ALL
                       SELECT e.user_id, -e.n FROM badge_event e WHERE b.category IS NULL OR e.category = b.category) x
                GROUP BY x.user_id
               HAVING pg_catalog.sum(x.n) <> 0) h
         WHERE b.ranks_by = 'badges' AND b.period = 'all'
    ),
    expected AS (
        -- Reached at the time of the last event applied (the log's order, which is the
        -- order of the users' locks), not the latest time: a transaction that started
        -- earlier may take the user's lock later.
        SELECT s.code, s.period_start, s.user_id, pg_catalog.sum(s.points)::bigint AS score,
               (pg_catalog.array_agg(s.at ORDER BY s.id DESC) FILTER (WHERE s.id IS NOT NULL))[1] AS reached_at
          FROM src s
         GROUP BY s.code, s.period_start, s.user_id
    ),
    kept AS (
        SELECT s.leaderboard AS code, s.period_start, s.user_id, s.score, s.reached_at
          FROM gamification.leaderboard_score s
         WHERE s.leaderboard = ANY (p_boards) AND (p_users IS NULL OR s.user_id = ANY (p_users))
    ),
    diff AS (
        SELECT coalesce(x.code, k.code) AS code, coalesce(x.period_start, k.period_start) AS period_start,
               coalesce(x.user_id, k.user_id) AS user_id, k.score AS stored, x.score AS computed,
               k.reached_at AS stored_at, x.reached_at AS computed_at
          FROM expected x
          FULL JOIN kept k ON k.code = x.code AND k.period_start = x.period_start AND k.user_id = x.user_id
         WHERE k.score IS DISTINCT FROM x.score
            OR (x.reached_at IS NOT NULL AND k.reached_at IS DISTINCT FROM x.reached_at)
    )
    SELECT pg_catalog.array_agg(d.code ORDER BY d.code, d.period_start, d.user_id),
           pg_catalog.array_agg(d.period_start ORDER BY d.code, d.period_start, d.user_id),
           pg_catalog.array_agg(d.user_id ORDER BY d.code, d.period_start, d.user_id),
           pg_catalog.array_agg(d.stored ORDER BY d.code, d.period_start, d.user_id),
           pg_catalog.array_agg(d.computed ORDER BY d.code, d.period_start, d.user_id),
           pg_catalog.array_agg(d.stored_at ORDER BY d.code, d.period_start, d.user_id),
           pg_catalog.array_agg(d.computed_at ORDER BY d.code, d.period_start, d.user_id)
      INTO v_boards, v_periods, v_users, v_stored, v_computed, v_stored_at, v_computed_at
      FROM diff d
      JOIN gamification.leaderboard b ON b.code = d.code
     WHERE p_since IS NULL OR gamification._leaderboard_period_end(b.period, b.time_zone, d.period_start) > p_since;
    IF v_boards IS NULL THEN
        RETURN;
    END IF;
    IF p_repair THEN
        DELETE FROM gamification.leaderboard_score s
         USING ROWS FROM (pg_catalog.unnest(v_boards), pg_catalog.unnest(v_periods), pg_catalog.unnest(v_users),
                          pg_catalog.unnest(v_computed)) AS d(code, period_start, user_id, computed)
         WHERE d.computed IS NULL
           AND s.leaderboard = d.code AND s.period_start = d.period_start AND s.user_id = d.user_id;
        INSERT INTO gamification.leaderboard_score AS s (leaderboard, period_start, user_id, score, reached_at)
        SELECT d.code, d.period_start, d.user_id, d.computed, coalesce(d.computed_at, d.stored_at, pg_catalog.now())
          FROM ROWS FROM (pg_catalog.unnest(v_boards), pg_catalog.unnest(v_periods), pg_catalog.unnest(v_users),
                          pg_catalog.unnest(v_computed), pg_catalog.unnest(v_stored_at), pg_catalog.unnest(v_computed_at))
               AS d(code, period_start, user_id, computed, stored_at, computed_at)
         WHERE d.computed IS NOT NULL
         ORDER BY d.code, d.period_start, d.user_id
        ON CONFLICT (leaderboard, period_start, user_id)
        DO UPDATE SET score = EXCLUDED.score, reached_at = EXCLUDED.reached_at;
        -- The score ranges' counts follow: -1 where a stored score was, +1 where the computed is.
        INSERT INTO gamification.leaderboard_count (leaderboard, period_start, bucket, users)
        SELECT d.code, d.period_start, m.bucket, pg_catalog.sum(m.users)
          FROM ROWS FROM (pg_catalog.unnest(v_boards), pg_catalog.unnest(v_periods), pg_catalog.unnest(v_stored),
                          pg_catalog.unnest(v_computed)) AS d(code, period_start, stored, computed)
         CROSS JOIN LATERAL (VALUES (gamification._leaderboard_bucket(d.stored), -1),
                                    (gamification._leaderboard_bucket(d.computed), 1)) AS m(bucket, users)
         WHERE m.bucket IS NOT NULL
         GROUP BY d.code, d.period_start, m.bucket
        HAVING pg_catalog.sum(m.users) <> 0;
    END IF;
    RETURN QUERY
    SELECT d.code, d.period_start, d.user_id, d.stored, d.computed, d.stored_at, d.computed_at
      FROM ROWS FROM (pg_catalog.unnest(v_boards), pg_catalog.unnest(v_periods), pg_catalog.unnest(v_users),
                      pg_catalog.unnest(v_stored), pg_catalog.unnest(v_computed), pg_catalog.unnest(v_stored_at),
                      pg_catalog.unnest(v_computed_at))
           AS d(code, period_start, user_id, stored, computed, stored_at, computed_at);
END;
$$;
COMMENT ON FUNCTION gamification._leaderboard_recompute(text[], text[], timestamptz, boolean) IS
    'Internal: the scores of leaderboards p_boards (users p_users, NULL: all; periods ending after p_since, NULL: all) recomputed from the event log (and, for all-time boards, the points events_prune() deleted), each one that differs from the stored row (stored or computed NULL: a row missing on that side; or reached_at differs); with p_repair the stored rows are set to the computed ones (and the score ranges'' counts follow). The caller holds the users'' locks when repairing.';

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_fold_all(p_boards text[])
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    -- Every count row of boards p_boards that nobody else holds (SKIP LOCKED: never a
    -- wait), folded (core/runtime.sql). The caller runs in READ COMMITTED (see _leaderboard_fold).
    SELECT gamification._leaderboard_fold_rows(ARRAY(
        SELECT c.ctid FROM gamification.leaderboard_count c
         WHERE c.leaderboard = ANY (p_boards) FOR UPDATE SKIP LOCKED))
$$;
COMMENT ON FUNCTION gamification._leaderboard_fold_all(text[]) IS
    'Internal: fold every count row of leaderboards p_boards that no other transaction holds into one row per score range (none for a count of 0); returns how many rows fewer there are. For READ COMMITTED callers.';

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_count_check(p_boards text[], p_since timestamptz,
                                                                        p_repair boolean)
RETURNS TABLE (leaderboard text, period_start timestamptz, bucket integer, stored bigint, computed bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- The score ranges' counts of boards p_boards (periods ending after p_since) against
    -- the scores (one statement: one snapshot, in which every writer's scores and counts
    -- are both there or both not); each range that differs once. With p_repair the difference is inserted as one more delta,
    -- which needs no lock: a writer that commits meanwhile adds its own, both stay right.
    -- Then the ranges are folded into one row each where no one holds them.
    RETURN QUERY
    WITH kept AS (
        SELECT c.leaderboard, c.period_start, c.bucket, pg_catalog.sum(c.users)::bigint AS users
          FROM gamification.leaderboard_count c
         WHERE c.leaderboard = ANY (p_boards)
         GROUP BY c.leaderboard, c.period_start, c.bucket
    ),
    counted AS (
        SELECT s.leaderboard, s.period_start, gamification._leaderboard_bucket(s.score) AS bucket,
               pg_catalog.count(*) AS users
          FROM gamification.leaderboard_score s
         WHERE s.leaderboard = ANY (p_boards)
         GROUP BY s.leaderboard, s.period_start, gamification._leaderboard_bucket(s.score)
    ),
    diff AS (
        SELECT coalesce(x.leaderboard, k.leaderboard) AS leaderboard,
               coalesce(x.period_start, k.period_start) AS period_start,
               coalesce(x.bucket, k.bucket) AS bucket,
               coalesce(k.users, 0) AS stored, coalesce(x.users, 0) AS computed
          FROM counted x
          FULL JOIN kept k ON k.leaderboard = x.leaderboard AND k.period_start = x.period_start AND k.bucket = x.bucket
          JOIN gamification.leaderboard b ON b.code = coalesce(x.leaderboard, k.leaderboard)
         WHERE coalesce(k.users, 0) <> coalesce(x.users, 0)
           AND (p_since IS NULL
                OR gamification._leaderboard_period_end(b.period, b.time_zone,
                                                        coalesce(x.period_start, k.period_start)) > p_since)
    ),
    repaired AS (
        INSERT INTO gamification.leaderboard_count (leaderboard, period_start, bucket, users)
        SELECT d.leaderboard, d.period_start, d.bucket, d.computed - d.stored FROM diff d WHERE p_repair
    )
    SELECT d.leaderboard, d.period_start, d.bucket, d.stored, d.computed
      FROM diff d ORDER BY d.leaderboard, d.period_start, d.bucket;
    IF p_repair AND pg_catalog.current_setting('transaction_isolation') = 'read committed' THEN
        PERFORM gamification._leaderboard_fold_all(p_boards);
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._leaderboard_count_check(text[], timestamptz, boolean) IS
    'Internal: each score range of leaderboards p_boards (in periods ending after p_since, NULL: all) whose count (the sum of its leaderboard_count rows) differs from the number of scores in it, with both numbers; with p_repair the difference is added as a delta and every range is folded into one row (READ COMMITTED; rows others hold are skipped).';

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_lock(p_boards text[])
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    -- Everyone whose scores on these boards may change, in the one order of every writer:
    -- the users with events of the boards' types (badge events, for boards of badges: a
    -- badge held always has its award event, which events_prune() keeps), or scores on them.
    SELECT gamification._lock_users(ARRAY(
        SELECT e.user_id FROM gamification.event e
         WHERE e.point_type IN (SELECT b.point_type FROM gamification.leaderboard b WHERE b.code = ANY (p_boards))
        UNION
        SELECT e.user_id FROM gamification.event e
         WHERE e.kind IN ('badge_awarded', 'badge_revoked', 'badge_reset')
           AND EXISTS (SELECT 1 FROM gamification.leaderboard b WHERE b.code = ANY (p_boards) AND b.ranks_by = 'badges')
        UNION
        SELECT s.user_id FROM gamification.leaderboard_score s WHERE s.leaderboard = ANY (p_boards)))
$$;
COMMENT ON FUNCTION gamification._leaderboard_lock(text[]) IS
    'Internal: take the locks of every user whose scores on leaderboards p_boards may change (events of their point types, badge events for boards of badges, scores on them), in the one order of every writer (_lock_users).';

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_categories_rebuild(p_categories text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_boards text[] := ARRAY(SELECT b.code FROM gamification.leaderboard b
                              WHERE b.ranks_by = 'badges' AND b.category = ANY (p_categories) ORDER BY b.code);
BEGIN
    -- Badges moved into or out of categories p_categories (a badge's category changed, or
    -- a badge was deleted): the boards of those categories rank what the badges are now in,
    -- past periods too, refilled from the log like a changed board. Before any user lock.
    IF pg_catalog.cardinality(v_boards) > 0 THEN
        PERFORM gamification._writers_pause();
        PERFORM gamification._leaderboard_lock(v_boards);
        PERFORM gamification._leaderboard_recompute(v_boards, NULL, NULL, true);
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._leaderboard_categories_rebuild(text[]) IS
    'Internal: refill from the log every leaderboard of badges ranking one of categories p_categories (after badges moved into or out of them), writers paused (_writers_pause) and the users locked.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_register(definitions jsonb)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER  -- admins write definitions only through the API
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_defs jsonb;
    v_obj jsonb;
    v_idx integer;
    v_label text;
    v_code text;
    v_codes text[] := '{}'::text[];
    v_period text;
    v_zone text;
    v_week_start text;
    v_ties text;
    v_ranks_by text;
    v_category text;
    v_norm jsonb := '[]'::jsonb;
    v_rebuild text[];
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    v_defs := gamification._as_array('leaderboard', $1, 'leaderboard_register');  -- in the body: the block's handler sees its errors
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(v_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := gamification._label('leaderboard', v_obj, v_idx);
        v_code := gamification._definition_code('leaderboard', v_label, v_obj,
                      ARRAY['code', 'name', 'description', 'ranks_by', 'point_type', 'category', 'period', 'time_zone',
                            'week_start', 'ties'],
                      v_idx, v_codes);
        v_codes := v_codes || v_code;
        v_ranks_by := coalesce(gamification._text_field(v_label, v_obj, 'ranks_by', false, false,
                                   'Give "ranks_by": points (the default) or badges.'), 'points');
        IF v_ranks_by NOT IN ('points', 'badges') THEN
            PERFORM gamification._field_error(v_label, 'ranks_by', 'one of points, badges', v_obj -> 'ranks_by',
                                              'Give "ranks_by": points (the default) or badges.');
        END IF;
        IF v_ranks_by = 'badges' AND (v_obj ->> 'point_type') IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "point_type" only applies to a board ranking points', v_label),
                HINT = 'A board with "ranks_by": "badges" counts badges: omit "point_type" (or rank points instead).';
        END IF;
        v_category := gamification._text_field(v_label, v_obj, 'category', false, true,
                          'Omit "category" to count every badge, or give a category''s code.');
        IF v_category IS NOT NULL AND v_ranks_by <> 'badges' THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "category" only applies to a board ranking badges', v_label),
                HINT = 'Give "ranks_by": "badges" to rank users by the badges of that category they earn.';
        END IF;
        IF v_category IS NOT NULL AND NOT EXISTS (SELECT 1 FROM gamification.category c WHERE c.code = v_category) THEN
            RAISE EXCEPTION USING ERRCODE = '42704',
                MESSAGE = pg_catalog.format('%s: field "category" "%s" is not a registered category', v_label, v_category),
                HINT = 'Register it first (gamification.category_register(), or a badge with that "category"); see gamification.categories.';
        END IF;
        v_period := coalesce(gamification._text_field(v_label, v_obj, 'period', false, false,
                                 'Give "period": all (the total), day, week, month or year.'), 'all');
        IF v_period NOT IN ('all', 'day', 'week', 'month', 'year') THEN
            PERFORM gamification._field_error(v_label, 'period', 'one of all, day, week, month, year', v_obj -> 'period',
                                              'Give "period": all (the total), day, week, month or year.');
        END IF;
        v_zone := gamification._text_field(v_label, v_obj, 'time_zone', false, false,
                      'Name an IANA time zone such as "Europe/Paris" (SELECT name FROM pg_timezone_names).');
        IF v_zone IS NOT NULL AND v_period = 'all' THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "time_zone" only applies to a period of day, week, month or year', v_label),
                HINT = 'An all-time board has no periods: omit "time_zone", or give "period".';
        END IF;
        IF v_zone IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = v_zone) THEN
            PERFORM gamification._field_error(v_label, 'time_zone', 'an IANA time zone name', v_obj -> 'time_zone',
                'Name an IANA time zone such as "Europe/Paris" (SELECT name FROM pg_timezone_names); names are case-sensitive.');
        END IF;
        v_week_start := gamification._text_field(v_label, v_obj, 'week_start', false, false,
                            'Give "week_start": monday (the default) to sunday.');
        IF v_week_start IS NOT NULL AND v_period <> 'week' THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "week_start" only applies to a period of week', v_label),
                HINT = 'Omit "week_start", or give "period": "week".';
        END IF;
        IF v_week_start IS NOT NULL
           AND v_week_start NOT IN ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday') THEN
            PERFORM gamification._field_error(v_label, 'week_start', 'a day from monday to sunday', v_obj -> 'week_start',
                                              'Give "week_start": monday (the default) to sunday, in lower case.');
        END IF;
        v_ties := coalesce(gamification._text_field(v_label, v_obj, 'ties', false, false,
                               'Give "ties": rank (1, 1, 3), dense_rank (1, 1, 2) or first (the first to reach the score ranks first).'),
                           'rank');
        IF v_ties NOT IN ('rank', 'dense_rank', 'first') THEN
            PERFORM gamification._field_error(v_label, 'ties', 'one of rank, dense_rank, first', v_obj -> 'ties',
                'Give "ties": rank (1, 1, 3), dense_rank (1, 1, 2) or first (the first to reach the score ranks first).');
        END IF;
        v_norm := v_norm || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'code', v_code,
            'name', coalesce(gamification._text_field(v_label, v_obj, 'name', false, false,
                                 'Omit "name" to use the code as the name.'), v_code),
            'description', gamification._text_field(v_label, v_obj, 'description', false, false,
                                 'Omit "description" or give a string.'),
            'ranks_by', v_ranks_by,
            'point_type', CASE WHEN v_ranks_by = 'points' THEN gamification._point_type_field(v_label, v_obj) END,
            'category', v_category,
            'period', v_period,
            'time_zone', coalesce(v_zone, 'UTC'),
            'week_start', coalesce(v_week_start, 'monday'),
            'ties', v_ties,
            'definition', v_obj));
    END LOOP;

    -- New boards, and boards that now rank something else or other periods, are filled
    -- from the data: writers paused first (_writers_pause), then the definitions, then
    -- the users whose scores that writes locked, as by every writer.
    SELECT pg_catalog.array_agg(n.code ORDER BY n.code) INTO v_rebuild
      FROM pg_catalog.jsonb_to_recordset(v_norm)
           AS n(code text, ranks_by text, point_type text, category text, period text, time_zone text, week_start text)
      LEFT JOIN gamification.leaderboard b ON b.code = n.code
     WHERE b.code IS NULL
        OR (b.ranks_by, b.point_type, b.category, b.period, b.time_zone, b.week_start)
           IS DISTINCT FROM (n.ranks_by, n.point_type, n.category, n.period, n.time_zone, n.week_start);
    IF v_rebuild IS NOT NULL THEN
        PERFORM gamification._writers_pause();
    END IF;

    INSERT INTO gamification.leaderboard AS b (code, name, description, ranks_by, point_type, category, period,
                                               time_zone, week_start, ties, definition)
    SELECT n.code, n.name, n.description, n.ranks_by, n.point_type, n.category, n.period, n.time_zone, n.week_start,
           n.ties, n.definition
      FROM pg_catalog.jsonb_to_recordset(v_norm)
           AS n(code text, name text, description text, ranks_by text, point_type text, category text, period text,
                time_zone text, week_start text, ties text, definition jsonb)
     ORDER BY n.code
    ON CONFLICT (code) DO UPDATE
       SET name = EXCLUDED.name, description = EXCLUDED.description, ranks_by = EXCLUDED.ranks_by,
           point_type = EXCLUDED.point_type, category = EXCLUDED.category, period = EXCLUDED.period,
           time_zone = EXCLUDED.time_zone, week_start = EXCLUDED.week_start, ties = EXCLUDED.ties,
           definition = EXCLUDED.definition, updated_at = pg_catalog.now();

    IF v_rebuild IS NOT NULL THEN
        PERFORM gamification._leaderboard_lock(v_rebuild);  -- reads the new definitions
        PERFORM gamification._leaderboard_recompute(v_rebuild, NULL, NULL, true);
    END IF;
    RETURN QUERY SELECT pg_catalog.unnest(v_codes);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_register(jsonb) IS
    'Register one leaderboard (JSON object) or several (JSON array) with keys code (required), name (default: the code), description, ranks_by (points, the default: the net points of point_type earned; badges: the net number of badges awarded, of category if given, an all-time board counting those held), point_type (default points; boards of points only), category (a registered category; boards of badges only), period (all, the default: the total; or day, week, month, year: repeating), time_zone (an IANA name from pg_timezone_names, default UTC; periods start at local midnight, a daylight-saving day is one day of 23 or 25 hours), week_start (monday, the default, to sunday; period week only), ties (rank, the default: 1, 1, 3; dense_rank: 1, 1, 2; first: the first to reach the score ranks first). A new board, or one whose ranks_by, point type, category or periods change, is filled from the event log, past periods included (awards wait meanwhile). An existing code is updated in place. Returns the codes registered. Idempotent. Admins only.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_unregister(code text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- admins write definitions only through the API
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = 'gamification.leaderboard_unregister(): leaderboard code must not be null',
            HINT = 'Name the leaderboard: SELECT gamification.leaderboard_unregister(''weekly'');';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM gamification.leaderboard b WHERE b.code = $1) THEN
        RETURN false;
    END IF;
    PERFORM gamification._writers_pause();  -- no writer scores on it after the delete
    PERFORM gamification._leaderboard_lock(ARRAY[$1]);
    DELETE FROM gamification.leaderboard_score s WHERE s.leaderboard = $1;
    DELETE FROM gamification.leaderboard_count c WHERE c.leaderboard = $1;
    DELETE FROM gamification.leaderboard b WHERE b.code = $1;  -- its exclusions with it
    RETURN true;
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_unregister(text) IS
    'Remove a leaderboard with its scores of every period (and their counts) and its exclusions; the points themselves are untouched (awards wait meanwhile). Returns false if there was no such leaderboard. Admins only.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_exclude(code text, user_id text, excluded boolean DEFAULT true)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- operators moderate through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_board gamification.leaderboard := gamification._leaderboard_must_exist('leaderboard_exclude', $1);
    v_user text := gamification._require_user($2, 'leaderboard_exclude');
BEGIN
    IF $3 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = 'gamification.leaderboard_exclude(): excluded must not be null',
            HINT = 'Pass true to leave the user out of the board, false to rank them again.';
    END IF;
    PERFORM gamification._lock_users(ARRAY[v_user]);  -- the one lock order of every writer (core/runtime.sql)
    IF $3 THEN
        INSERT INTO gamification.leaderboard_exclusion (leaderboard, user_id) VALUES (v_board.code, v_user)
        ON CONFLICT (leaderboard, user_id) DO NOTHING;
    ELSE
        DELETE FROM gamification.leaderboard_exclusion x WHERE x.leaderboard = v_board.code AND x.user_id = v_user;
    END IF;
    RETURN FOUND;
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_exclude(text, text, boolean) IS
    'Leave a user out of a leaderboard''s rankings (excluded true, the default: staff, banned users) or rank them again (false), in every period, past ones included; their points and scores are kept meanwhile. Returns whether anything changed. 42704 for an unknown leaderboard. Operators.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_exclude(code text, user_id anyelement, excluded boolean DEFAULT true)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER  -- operators moderate through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.leaderboard_exclude($1, $2::text, $3) $$;
COMMENT ON FUNCTION gamification.leaderboard_exclude(text, anyelement, boolean) IS
    'Same as gamification.leaderboard_exclude(text, text, boolean) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_ranked(p_board text, p_ties text, p_start timestamptz)
RETURNS TABLE (pos bigint, rank bigint, user_id text, score bigint, reached_at timestamptz)
LANGUAGE sql
STABLE
-- The one definition of a ranking: the users with a score in the period, the excluded
-- left out, in order (score descending, then who reached it first, then the key); rank by
-- the board's ties. A SQL-standard body and no SET clause, so the planner inlines it.
BEGIN ATOMIC
    SELECT pg_catalog.row_number() OVER w,
           CASE p_ties WHEN 'dense_rank' THEN pg_catalog.dense_rank() OVER v
                       WHEN 'first' THEN pg_catalog.row_number() OVER w
                       ELSE pg_catalog.rank() OVER v END,
           s.user_id, s.score, s.reached_at
      FROM gamification.leaderboard_score s
     WHERE s.leaderboard = p_board AND s.period_start = p_start
       AND NOT EXISTS (SELECT 1 FROM gamification.leaderboard_exclusion x
                        WHERE x.leaderboard = p_board AND x.user_id = s.user_id)
    WINDOW v AS (ORDER BY s.score DESC), w AS (ORDER BY s.score DESC, s.reached_at, s.user_id);
END;
COMMENT ON FUNCTION gamification._leaderboard_ranked(text, text, timestamptz) IS
    'Internal: the ranking of leaderboard p_board in the period starting at p_start: pos (1, 2, 3, ... in order: score descending, reached_at, user_id), rank by p_ties (rank, dense_rank or first), excluded users left out.';

CREATE {{ or_replace }}FUNCTION gamification._leaderboard_ranked_above(p_board text, p_start timestamptz,
                                                                        p_score bigint)
RETURNS bigint
LANGUAGE sql
STABLE
-- How many ranked users of board p_board in the period starting at p_start have a score
-- above p_score: the counts of the score ranges above p_score's (a few hundred rows at
-- most), the scores above it in its own range (the index), less the excluded users above
-- it (a few: they stay counted in the ranges). One snapshot: the counts and the scores
-- agree. A SQL-standard body: its names are bound when it is created.
BEGIN ATOMIC
    SELECT coalesce((SELECT pg_catalog.sum(c.users) FROM gamification.leaderboard_count c
                      WHERE c.leaderboard = p_board AND c.period_start = p_start
                        AND c.bucket > gamification._leaderboard_bucket(p_score)), 0)::bigint
         + (SELECT pg_catalog.count(*) FROM gamification.leaderboard_score s
             WHERE s.leaderboard = p_board AND s.period_start = p_start AND s.score > p_score
               AND s.score <= gamification._leaderboard_bucket_last(gamification._leaderboard_bucket(p_score)))
         - (SELECT pg_catalog.count(*) FROM gamification.leaderboard_exclusion x
             WHERE x.leaderboard = p_board
               AND (SELECT s.score FROM gamification.leaderboard_score s  -- driven by the few excluded
                     WHERE s.leaderboard = x.leaderboard AND s.period_start = p_start
                       AND s.user_id = x.user_id) > p_score);
END;
COMMENT ON FUNCTION gamification._leaderboard_ranked_above(text, timestamptz, bigint) IS
    'Internal: how many ranked (not excluded) users of leaderboard p_board in the period starting at p_start have a score above p_score, from the score ranges'' counts plus the scores in p_score''s own range.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_top(code text, n integer DEFAULT 10, skip integer DEFAULT 0,
                                                             at timestamptz DEFAULT NULL)
RETURNS TABLE (rank bigint, user_id text, score bigint, reached_at timestamptz)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER  -- a ranking shows every ranked user's key and score, row security or not
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_board gamification.leaderboard := gamification._leaderboard_must_exist('leaderboard_top', $1);
BEGIN
    IF $2 IS NULL OR $2 < 0 OR $3 IS NULL OR $3 < 0 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('gamification.leaderboard_top(): leaderboard "%s": n and skip must be 0 or more, got %s and %s',
                                        v_board.code, coalesce($2::text, 'NULL'), coalesce($3::text, 'NULL')),
            HINT = 'The page of n users after the first skip: leaderboard_top(''weekly'', 10, 20) is ranks 21 to 30.';
    END IF;
    RETURN QUERY
    SELECT r.rank, r.user_id, r.score, r.reached_at
      FROM gamification._leaderboard_ranked(v_board.code, v_board.ties,
               gamification._leaderboard_period(v_board.period, v_board.time_zone, v_board.week_start,
                                                coalesce($4, pg_catalog.now()))) r
     -- The ranking's own order (pos), spelled as its sort keys: the planner then reads the
     -- board's index in order and stops after skip + n rows instead of ranking everyone.
     ORDER BY r.score DESC, r.reached_at, r.user_id
    OFFSET $3 LIMIT $2;
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_top(text, integer, integer, timestamptz) IS
    'A page of a leaderboard: n users (default 10) after the first skip (default 0), in order, with their rank (by the board''s ties), score (the points of its type earned in the period) and when they reached it; of the period holding at (default now: the current one; now() - interval ''1 week'' on a weekly board: last week''s final standings). Excluded users are left out. 42704 for an unknown leaderboard. Readers.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_rank(code text, for_user text, around integer DEFAULT 0,
                                                              at timestamptz DEFAULT NULL)
RETURNS TABLE (rank bigint, user_id text, score bigint, reached_at timestamptz)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER  -- a ranking shows every ranked user's key and score, row security or not
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_board gamification.leaderboard := gamification._leaderboard_must_exist('leaderboard_rank', $1);
    v_user text := gamification._require_user($2, 'leaderboard_rank');
    v_start timestamptz;
    v_score bigint;
    v_reached timestamptz;
    v_before bigint;
    v_above bigint;
BEGIN
    IF $3 IS NULL OR $3 < 0 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('gamification.leaderboard_rank(): leaderboard "%s": around must be 0 or more, got %s',
                                        v_board.code, coalesce($3::text, 'NULL')),
            HINT = 'around is how many users to show on each side of the user: 0 for the user alone.';
    END IF;
    v_start := gamification._leaderboard_period(v_board.period, v_board.time_zone, v_board.week_start,
                                                coalesce($4, pg_catalog.now()));
    SELECT s.score, s.reached_at INTO v_score, v_reached
      FROM gamification.leaderboard_score s
     WHERE s.leaderboard = v_board.code AND s.period_start = v_start AND s.user_id = v_user
       AND NOT EXISTS (SELECT 1 FROM gamification.leaderboard_exclusion x
                        WHERE x.leaderboard = v_board.code AND x.user_id = v_user);
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- Counted, never by ranking everyone: how many ranked users have a higher score (the
    -- score ranges' counts, _leaderboard_ranked_above), how many come before this one (those,
    -- and the users with the same score who reached it first: the index), and the rank of
    -- the first row shown. The neighbours are read from the index around the user (at
    -- most around on each side); within them, ranks follow from those counts.
    v_above := gamification._leaderboard_ranked_above(v_board.code, v_start, v_score);
    SELECT v_above + pg_catalog.count(*) INTO v_before
      FROM gamification.leaderboard_score s
     WHERE s.leaderboard = v_board.code AND s.period_start = v_start AND s.score = v_score
       AND (s.reached_at, s.user_id) < (v_reached, v_user)
       AND NOT EXISTS (SELECT 1 FROM gamification.leaderboard_exclusion x
                        WHERE x.leaderboard = v_board.code AND x.user_id = s.user_id);
    RETURN QUERY
    WITH scores AS NOT MATERIALIZED (  -- inlined into each use below: index ranges, not a copy of the board
        SELECT s.user_id, s.score, s.reached_at
          FROM gamification.leaderboard_score s
         WHERE s.leaderboard = v_board.code AND s.period_start = v_start
           AND NOT EXISTS (SELECT 1 FROM gamification.leaderboard_exclusion x
                            WHERE x.leaderboard = v_board.code AND x.user_id = s.user_id)
    ),
    before AS (  -- the around users just before, nearest first (two index ranges)
        SELECT b.* FROM (
            (SELECT c.* FROM scores c WHERE c.score = v_score AND (c.reached_at, c.user_id) < (v_reached, v_user)
              ORDER BY c.reached_at DESC, c.user_id DESC LIMIT $3)
            UNION ALL
            (SELECT c.* FROM scores c WHERE c.score > v_score
              ORDER BY c.score, c.reached_at DESC, c.user_id DESC LIMIT $3)) b
         ORDER BY b.score, b.reached_at DESC, b.user_id DESC LIMIT $3
    ),
    after AS (  -- the around users just after, nearest first
        SELECT a.* FROM (
            (SELECT c.* FROM scores c WHERE c.score = v_score AND (c.reached_at, c.user_id) > (v_reached, v_user)
              ORDER BY c.reached_at, c.user_id LIMIT $3)
            UNION ALL
            (SELECT c.* FROM scores c WHERE c.score < v_score
              ORDER BY c.score DESC, c.reached_at, c.user_id LIMIT $3)) a
         ORDER BY a.score DESC, a.reached_at, a.user_id LIMIT $3
    ),
    shown AS (
        SELECT w.*, v_before + 1 - (SELECT pg_catalog.count(*) FROM before)
                    + pg_catalog.row_number() OVER (ORDER BY w.score DESC, w.reached_at, w.user_id) - 1 AS pos
          FROM (SELECT * FROM before UNION ALL SELECT v_user, v_score, v_reached UNION ALL SELECT * FROM after) w
    ),
    first AS (  -- the first row shown, and its rank by the board's ties, counted
        SELECT f.score, f.pos,
               CASE v_board.ties
                   WHEN 'first' THEN f.pos
                   WHEN 'dense_rank' THEN 1 + (SELECT pg_catalog.count(DISTINCT c.score) FROM scores c WHERE c.score > f.score)
                   ELSE CASE WHEN f.score = v_score THEN 1 + v_above  -- counted above
                             ELSE 1 + gamification._leaderboard_ranked_above(v_board.code, v_start, f.score) END
               END AS rank
          FROM shown f ORDER BY f.pos LIMIT 1
    )
    SELECT CASE v_board.ties
               WHEN 'first' THEN w.pos
               WHEN 'dense_rank' THEN first.rank + pg_catalog.dense_rank() OVER (ORDER BY w.score DESC) - 1
               ELSE CASE WHEN w.score = first.score THEN first.rank
                         ELSE pg_catalog.min(w.pos) OVER (PARTITION BY w.score) END END,
           w.user_id, w.score, w.reached_at
      FROM shown w, first
     ORDER BY w.pos;
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_rank(text, text, integer, timestamptz) IS
    'One user''s (for_user) place on a leaderboard: their row (rank, score, when reached) with up to around users on each side (default 0), in order; of the period holding at (default now: the current one). No row when the user has no score in that period or is excluded. 42704 for an unknown leaderboard. Readers.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_rank(code text, for_user anyelement, around integer DEFAULT 0,
                                                              at timestamptz DEFAULT NULL)
RETURNS TABLE (rank bigint, user_id text, score bigint, reached_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER  -- a ranking shows every ranked user's key and score, row security or not
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM gamification.leaderboard_rank($1, $2::text, $3, $4) $$;
COMMENT ON FUNCTION gamification.leaderboard_rank(text, anyelement, integer, timestamptz) IS
    'Same as gamification.leaderboard_rank(text, text, integer, timestamptz) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_periods(code text)
RETURNS TABLE (period_start timestamptz, period_end timestamptz, users bigint, is_current boolean)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER  -- a ranking shows every ranked user's key and score, row security or not
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_board gamification.leaderboard := gamification._leaderboard_must_exist('leaderboard_periods', $1);
BEGIN
    RETURN QUERY
    SELECT p.period_start, gamification._leaderboard_period_end(v_board.period, v_board.time_zone, p.period_start),
           p.users,
           p.period_start = gamification._leaderboard_period(v_board.period, v_board.time_zone, v_board.week_start,
                                                             pg_catalog.now())
      FROM (SELECT c.period_start, c.users - coalesce(e.users, 0) AS users
              FROM (SELECT c.period_start, pg_catalog.sum(c.users)::bigint AS users  -- the ranges' counts
                      FROM gamification.leaderboard_count c
                     WHERE c.leaderboard = v_board.code
                     GROUP BY c.period_start) c
              LEFT JOIN (SELECT s.period_start, pg_catalog.count(*) AS users  -- less the excluded
                           FROM gamification.leaderboard_exclusion x
                           JOIN gamification.leaderboard_score s
                             ON s.leaderboard = x.leaderboard AND s.user_id = x.user_id
                          WHERE x.leaderboard = v_board.code
                          GROUP BY s.period_start) e ON e.period_start = c.period_start
             WHERE c.users > 0) p
     ORDER BY p.period_start DESC;
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_periods(text) IS
    'The periods of a leaderboard that have scores, newest first: start, end (exclusive; -infinity and infinity for an all-time board), how many users are ranked, and whether it is the current one (is_current). Pass a period_start to leaderboard_top() or leaderboard_rank() as at to read its standings. 42704 for an unknown leaderboard. Readers.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_verify(repair boolean DEFAULT false, since timestamptz DEFAULT NULL)
RETURNS TABLE (leaderboard text, period_start timestamptz, user_id text, stored bigint, computed bigint,
               stored_reached_at timestamptz, computed_reached_at timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER  -- admins verify and repair; nobody writes the scores directly
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_boards text[] := ARRAY(SELECT b.code FROM gamification.leaderboard b ORDER BY b.code);
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = 'gamification.leaderboard_verify(): repair must not be null',
            HINT = 'Pass false to report the differences, true to report and repair them.';
    END IF;
    IF $1 THEN  -- no score moves while it is compared and set
        PERFORM gamification._leaderboard_lock(v_boards);
    END IF;
    RETURN QUERY SELECT * FROM gamification._leaderboard_recompute(v_boards, NULL, $2, $1);
    -- Then the score ranges' counts against the scores (user_id NULL: a count of users).
    RETURN QUERY
    SELECT c.leaderboard, c.period_start, NULL::text, c.stored, c.computed, NULL::timestamptz, NULL::timestamptz
      FROM gamification._leaderboard_count_check(v_boards, $2, $1) c;
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_verify(boolean, timestamptz) IS
    'Recompute every leaderboard from the data (the event log; for all-time boards also the points events_prune() deleted) and return each stored score that differs: stored or computed NULL for a row missing on that side, or a different reached_at. With repair true the stored scores are set to the computed ones (every user concerned is locked first, like by every writer). since limits it to periods ending after that time: after events_prune(older_than), pass now() - older_than, the older periods having lost events. Then the counts that make ranks fast: a row with user_id NULL is a score range of that board and period whose count of users (stored) differs from the scores in it (computed); repair corrects it without locking anyone. Admins only.';

CREATE {{ or_replace }}FUNCTION gamification.leaderboard_compact()
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER  -- admins (or their scheduled job) fold; nobody writes the counts directly
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Writers in READ COMMITTED fold the counts as they go (core/runtime.sql,
    -- _leaderboard_fold); an application that writes only under REPEATABLE READ or
    -- SERIALIZABLE never does, so its count rows grow and ranks slow down: schedule this.
    -- It never waits for a writer (SKIP LOCKED) and locks no user.
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = pg_catalog.format('gamification.leaderboard_compact() needs a READ COMMITTED transaction, not %s',
                                        pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))),
            HINT = 'Call it on its own (autocommit), e.g. from a scheduled job: SELECT gamification.leaderboard_compact();';
    END IF;
    RETURN gamification._leaderboard_fold_all(ARRAY(SELECT b.code FROM gamification.leaderboard b ORDER BY b.code));
END;
$$;
COMMENT ON FUNCTION gamification.leaderboard_compact() IS
    'Fold the score ranges'' count rows of every leaderboard into one row per range, skipping rows a writer holds; returns how many rows fewer there are. Writers in READ COMMITTED do this as they go: schedule it (every few minutes) only if your application writes under REPEATABLE READ or SERIALIZABLE. Never waits for writers; needs a READ COMMITTED transaction (55000 otherwise). Admins only.';
