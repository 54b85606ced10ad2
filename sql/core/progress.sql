-- Progress towards badges with a target. The award happens exactly when a
-- step crosses the target (old < target <= new); the upsert's row lock makes
-- concurrent steps see each other, so only one of them crosses.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification.badge_progress(user_id text, code text, step bigint DEFAULT 1)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user text := gamification._require_user($1::text, 'badge_progress');
    v_badge gamification.badge;
    v_new bigint;
BEGIN
    PERFORM gamification._require_code('badge', $2, 'badge_progress');
    IF $3 IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'gamification.badge_progress(): step must not be null',
            HINT = 'Pass a positive step, or omit it for 1.';
    END IF;
    IF $3 <= 0 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('gamification.badge_progress(): step must be a positive integer, got %s', $3),
            HINT = 'Progress only goes up; use gamification.reset() to start a user over.';
    END IF;
    v_badge := gamification._badge_must_exist($2);
    IF v_badge.target IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '55000',
            MESSAGE = pg_catalog.format('badge "%s" has no target', v_badge.code),
            HINT = 'Register the badge with a "target" to track progress, or award it with gamification.badge_award().';
    END IF;
    PERFORM gamification._lock_users(ARRAY[v_user]);  -- the one lock order of every writer (core/runtime.sql)
    INSERT INTO gamification.progress AS p (user_id, badge_code, progress)
    VALUES (v_user, v_badge.code, $3)
    ON CONFLICT (user_id, badge_code)
    DO UPDATE SET progress = p.progress + EXCLUDED.progress, updated_at = pg_catalog.now()
    RETURNING p.progress INTO v_new;
    IF gamification._crosses(v_new, $3, v_badge.target) THEN
        PERFORM gamification._grant(v_badge.code, ARRAY[v_user], 'progress');
    END IF;
    RETURN v_new;
END;
$$;
COMMENT ON FUNCTION gamification.badge_progress(text, text, bigint) IS
    'Add step (default 1, must be positive) to the user''s progress on a badge with a target; returns the new progress. Awards the badge (and pays its points) exactly when the step crosses the target. Not idempotent: each call adds a step; the award itself happens once.';

CREATE {{ or_replace }}FUNCTION gamification.badge_progress(user_id anyelement, code text, step bigint DEFAULT 1)
RETURNS bigint
LANGUAGE sql
SECURITY DEFINER  -- operators award through it; they hold no rights on the tables
SET search_path = pg_catalog, pg_temp
AS $$ SELECT gamification.badge_progress($1::text, $2, $3) $$;
COMMENT ON FUNCTION gamification.badge_progress(anyelement, text, bigint) IS
    'Same as gamification.badge_progress(text, ...) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';
