{#- Created once: by the install script, and by the upgrade that introduced it (0.3.0). #}
-- Importing history from another system (django-gamification, a spreadsheet, an older
-- engine): point changes with their times, badges already held, progress. An import is
-- not something happening now: its events are marked origin import (consumers with
-- live_only skip them, nobody is woken) and keep the times given. A held badge is
-- recorded as paying nothing: the points the other system paid for it are among its point
-- changes, and a later revoke takes back what the award paid here (nothing).

CREATE FUNCTION gamification._import_problem(p_data jsonb)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_section text;
    v_entry jsonb;
    v_i bigint;
    v_badge gamification.badge;
BEGIN
    -- The first thing wrong with an import, as "<section>[<i>]: <what>", or NULL. Read
    -- entry by entry: an import is rare, and the message must name the entry.
    IF pg_catalog.jsonb_typeof(p_data) IS DISTINCT FROM 'object' THEN
        RETURN 'expected an object {"points": [...], "awards": [...], "progress": [...]}';
    END IF;
    SELECT k INTO v_section FROM pg_catalog.jsonb_object_keys(p_data) AS k
     WHERE k NOT IN ('points', 'awards', 'progress') LIMIT 1;
    IF FOUND THEN
        RETURN pg_catalog.format('unknown key "%s" (expected points, awards, progress)', v_section);
    END IF;
    FOREACH v_section IN ARRAY ARRAY['points', 'awards', 'progress'] LOOP
        IF p_data ? v_section AND pg_catalog.jsonb_typeof(p_data -> v_section) <> 'array' THEN
            RETURN pg_catalog.format('"%s" must be an array', v_section);
        END IF;
        FOR v_entry, v_i IN
            SELECT e, n - 1 FROM pg_catalog.jsonb_array_elements(coalesce(p_data -> v_section, '[]')) WITH ORDINALITY AS t(e, n)
        LOOP
            IF pg_catalog.jsonb_typeof(v_entry) <> 'object' THEN
                RETURN pg_catalog.format('%s[%s]: expected an object', v_section, v_i);
            ELSIF pg_catalog.jsonb_typeof(v_entry -> 'user_id') NOT IN ('string', 'number')
                  OR coalesce(v_entry ->> 'user_id', '') = '' THEN
                RETURN pg_catalog.format('%s[%s]: field "user_id" is required (a string or a number)', v_section, v_i);
            ELSIF v_section = 'points' AND (pg_catalog.jsonb_typeof(v_entry -> 'amount') IS DISTINCT FROM 'number'
                                            OR (v_entry ->> 'amount') !~ '^-?[0-9]{1,18}$') THEN
                RETURN pg_catalog.format('%s[%s]: field "amount" must be an integer, got %s', v_section, v_i,
                                         coalesce((v_entry -> 'amount')::text, 'nothing'));
            ELSIF v_section = 'progress' AND (pg_catalog.jsonb_typeof(v_entry -> 'progress') IS DISTINCT FROM 'number'
                                              OR (v_entry ->> 'progress') !~ '^[0-9]{1,18}$') THEN
                RETURN pg_catalog.format('%s[%s]: field "progress" must be an integer of 0 or more, got %s', v_section,
                                         v_i, coalesce((v_entry -> 'progress')::text, 'nothing'));
            END IF;
            IF v_section = 'points' AND v_entry ? 'point_type'
               AND NOT EXISTS (SELECT 1 FROM gamification.point_type t WHERE t.code = v_entry ->> 'point_type') THEN
                RETURN pg_catalog.format('%s[%s]: point type %s is not registered', v_section, v_i,
                                         (v_entry -> 'point_type')::text);
            END IF;
            IF v_entry ? 'at' THEN
                BEGIN
                    PERFORM (v_entry ->> 'at')::timestamptz;
                EXCEPTION WHEN OTHERS THEN
                    RETURN pg_catalog.format('%s[%s]: field "at" must be a time (ISO 8601), got %s', v_section, v_i,
                                             (v_entry -> 'at')::text);
                END;
            END IF;
            IF v_section IN ('awards', 'progress') THEN
                SELECT * INTO v_badge FROM gamification.badge b WHERE b.code = v_entry ->> 'code';
                IF NOT FOUND OR v_badge.retired_at IS NOT NULL THEN
                    RETURN pg_catalog.format('%s[%s]: badge %s is not registered', v_section, v_i,
                                             coalesce((v_entry -> 'code')::text, '(no "code")'));
                ELSIF v_section = 'progress' AND v_badge.target IS NULL THEN
                    RETURN pg_catalog.format('%s[%s]: badge "%s" has no target, so no progress', v_section, v_i, v_badge.code);
                END IF;
            END IF;
        END LOOP;
    END LOOP;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION gamification._import_problem(jsonb) IS
    'Internal: the first problem of a history_import() document, naming the section and entry, or NULL.';

CREATE FUNCTION gamification.history_import(data jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER  -- admins import; nobody holds INSERT on the log
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_problem text := gamification._import_problem(data);
    v_origin text := pg_catalog.current_setting('gamification.event_origin', true);
    v_points bigint;
    v_awards bigint;
    v_progress bigint;
    v_users text[];
    v_deltas bigint[];
    v_types text[];
BEGIN
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = 'gamification.history_import(): ' || v_problem,
            HINT = 'Nothing was imported. Each section is an array of objects: points {"user_id", "amount", "reason", "at", "point_type"}, awards {"user_id", "code", "at"}, progress {"user_id", "code", "progress"}.';
    END IF;
    -- Every user of the import locked first, in the one order of every writer.
    PERFORM gamification._lock_users(ARRAY(
        SELECT e ->> 'user_id'
          FROM pg_catalog.jsonb_array_elements(coalesce(data -> 'points', '[]') || coalesce(data -> 'awards', '[]')
                                               || coalesce(data -> 'progress', '[]')) AS e));
    PERFORM pg_catalog.set_config('gamification.event_origin', 'import', true);

    -- Point changes, in their order of time (then as given), each an event with its time;
    -- each user's total changes once (and unlocks follow, marked import too).
    INSERT INTO gamification.event (at, user_id, kind, points, reason, point_type)
    SELECT coalesce((e ->> 'at')::timestamptz, pg_catalog.now()), e ->> 'user_id', 'points_changed',
           (e ->> 'amount')::bigint, coalesce(e ->> 'reason', 'import'), coalesce(e ->> 'point_type', 'points')
      FROM pg_catalog.jsonb_array_elements(coalesce(data -> 'points', '[]')) WITH ORDINALITY AS t(e, n)
     ORDER BY 1, n;
    GET DIAGNOSTICS v_points = ROW_COUNT;
    SELECT pg_catalog.array_agg(s.user_id ORDER BY s.user_id, s.point_type),
           pg_catalog.array_agg(s.delta ORDER BY s.user_id, s.point_type),
           pg_catalog.array_agg(s.point_type ORDER BY s.user_id, s.point_type)
      INTO v_users, v_deltas, v_types
      FROM (SELECT e ->> 'user_id' AS user_id, coalesce(e ->> 'point_type', 'points') AS point_type,
                   pg_catalog.sum((e ->> 'amount')::bigint)::bigint AS delta
              FROM pg_catalog.jsonb_array_elements(coalesce(data -> 'points', '[]')) AS e
             GROUP BY 1, 2) s;
    IF v_users IS NOT NULL THEN
        PERFORM gamification._points_apply(v_users, v_deltas, v_types);
        -- Leaderboards rank points in the periods they happened in, not the import's.
        IF EXISTS (SELECT 1 FROM gamification.leaderboard b WHERE b.point_type = ANY (v_types)) THEN
            PERFORM gamification._leaderboard_recompute(
                ARRAY(SELECT b.code FROM gamification.leaderboard b WHERE b.point_type = ANY (v_types) ORDER BY b.code),
                v_users, NULL, true);
        END IF;
    END IF;

    -- Badges held: an award row with its time and a badge_awarded event paying nothing; a
    -- badge already held here stays as it is.
    WITH wanted AS (
        SELECT DISTINCT ON (e ->> 'user_id', e ->> 'code')
               e ->> 'user_id' AS user_id, e ->> 'code' AS code, coalesce((e ->> 'at')::timestamptz, pg_catalog.now()) AS at
          FROM pg_catalog.jsonb_array_elements(coalesce(data -> 'awards', '[]')) AS e
         ORDER BY e ->> 'user_id', e ->> 'code', 3
    ),
    ins AS (
        INSERT INTO gamification.award (user_id, badge_code, awarded_at)
        SELECT w.user_id, w.code, w.at FROM wanted w ORDER BY w.user_id, w.code
        ON CONFLICT (user_id, badge_code) DO NOTHING
        RETURNING user_id, badge_code, awarded_at
    )
    INSERT INTO gamification.event (at, user_id, kind, subject, points, reason, point_type)
    SELECT i.awarded_at, i.user_id, 'badge_awarded', i.badge_code, 0, 'import', b.point_type
      FROM ins i JOIN gamification.badge b ON b.code = i.badge_code
     ORDER BY i.awarded_at, i.user_id, i.badge_code;
    GET DIAGNOSTICS v_awards = ROW_COUNT;
    -- Boards of badges count the imported awards in the periods they happened in.
    IF v_awards > 0 AND EXISTS (SELECT 1 FROM gamification.leaderboard b WHERE b.ranks_by = 'badges') THEN
        PERFORM gamification._leaderboard_recompute(
            ARRAY(SELECT b.code FROM gamification.leaderboard b WHERE b.ranks_by = 'badges' ORDER BY b.code),
            ARRAY(SELECT DISTINCT e ->> 'user_id' FROM pg_catalog.jsonb_array_elements(data -> 'awards') AS e),
            NULL, true);
    END IF;

    -- Progress: the larger of what is here and what is imported (progress never goes back).
    INSERT INTO gamification.progress AS p (user_id, badge_code, progress)
    SELECT e ->> 'user_id', e ->> 'code', pg_catalog.max((e ->> 'progress')::bigint)
      FROM pg_catalog.jsonb_array_elements(coalesce(data -> 'progress', '[]')) AS e
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (user_id, badge_code) DO UPDATE SET progress = greatest(p.progress, EXCLUDED.progress),
                                                     updated_at = pg_catalog.now();
    GET DIAGNOSTICS v_progress = ROW_COUNT;

    PERFORM pg_catalog.set_config('gamification.event_origin', coalesce(v_origin, ''), true);
    RETURN pg_catalog.jsonb_build_object('points', v_points, 'awards', v_awards, 'progress', v_progress);
END;
$$;
COMMENT ON FUNCTION gamification.history_import(jsonb) IS
    'Import history from another system, in one transaction: {"points": [{"user_id", "amount", "reason", "at", "point_type"}], "awards": [{"user_id", "code", "at"}], "progress": [{"user_id", "code", "progress"}]}. Point changes become points_changed events with their times (in their point_type, default points) and change the totals (unlocks and levels follow); awards are recorded with their times, paying nothing (their points are among the point changes), skipped when held; progress keeps the larger value and awards nothing by itself. Every event is marked origin import. Run it once per history: point changes are added each time. Returns the rows imported per section; 22023 naming the entry for a bad document (nothing imported). Admins only.';
