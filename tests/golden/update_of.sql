CREATE FUNCTION gamification.cond_level_c9e9a848(new public.profile)
RETURNS boolean
LANGUAGE sql
STABLE
RETURN (NEW.level >= 10)

-- ----

CREATE FUNCTION gamification.cond_level_ups_3248e895(new public.profile, old public.profile)
RETURNS boolean
LANGUAGE sql
STABLE
RETURN (NEW.level > OLD.level)

-- ----

CREATE OR REPLACE FUNCTION gamification.trg_profile_update_of_b67d9745() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS 'BEGIN
    IF NOT (OLD.level IS DISTINCT FROM NEW.level) THEN
        RETURN NULL;  -- no update_of column changed: nothing to evaluate
    END IF;
    -- After the fast path failed once in this session, the badges go one by one at once:
    -- a broken badge would otherwise make every statement evaluate the others twice.
    IF pg_catalog.current_setting(''gamification.fast_path_failed'', true) IS NULL
       OR pg_catalog.strpos(pg_catalog.current_setting(''gamification.fast_path_failed'', true), ''|trg_profile_update_of_b67d9745:e3cbb148|'') = 0 THEN
        BEGIN
            -- badge level
            IF (OLD.level IS DISTINCT FROM NEW.level) AND NEW.player IS NOT NULL THEN
                IF gamification.cond_level_c9e9a848(new) IS TRUE THEN
                    IF NOT EXISTS (SELECT 1 FROM gamification.award a WHERE a.user_id = pg_catalog.concat(NEW.player) AND a.badge_code = ''level'') THEN
                        PERFORM gamification._grant(''level'', ARRAY[pg_catalog.concat(NEW.player)], ''trigger'');
                    END IF;
                END IF;
            END IF;
            -- badge level_ups
            IF (OLD.level IS DISTINCT FROM NEW.level) AND NEW.player IS NOT NULL THEN
                IF gamification.cond_level_ups_3248e895(new, old) IS TRUE THEN
                    PERFORM gamification._count_many(ARRAY[''level_ups''], ARRAY[pg_catalog.concat(NEW.player)], ARRAY[1]::bigint[]);
                END IF;
            END IF;
            RETURN NULL;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
            PERFORM pg_catalog.set_config(''gamification.fast_path_failed'',
                coalesce(pg_catalog.current_setting(''gamification.fast_path_failed'', true), '''') || ''|trg_profile_update_of_b67d9745:e3cbb148|'', false);
        END;
    END IF;
        BEGIN
            -- badge level
            IF (OLD.level IS DISTINCT FROM NEW.level) AND NEW.player IS NOT NULL THEN
                IF gamification.cond_level_c9e9a848(new) IS TRUE THEN
                    IF NOT EXISTS (SELECT 1 FROM gamification.award a WHERE a.user_id = pg_catalog.concat(NEW.player) AND a.badge_code = ''level'') THEN
                        PERFORM gamification._grant(''level'', ARRAY[pg_catalog.concat(NEW.player)], ''trigger'');
                    END IF;
                END IF;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
            BEGIN
                PERFORM gamification._badge_failed(''level'', SQLSTATE, SQLERRM);
            EXCEPTION WHEN OTHERS THEN
                IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
                RAISE WARNING ''gamification: badge % was not evaluated and the failure could not be recorded: %'', ''level'', SQLERRM;
            END;
        END;
        BEGIN
            -- badge level_ups
            IF (OLD.level IS DISTINCT FROM NEW.level) AND NEW.player IS NOT NULL THEN
                IF gamification.cond_level_ups_3248e895(new, old) IS TRUE THEN
                    PERFORM gamification._count_many(ARRAY[''level_ups''], ARRAY[pg_catalog.concat(NEW.player)], ARRAY[1]::bigint[]);
                END IF;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
            BEGIN
                PERFORM gamification._badge_failed(''level_ups'', SQLSTATE, SQLERRM);
            EXCEPTION WHEN OTHERS THEN
                IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
                RAISE WARNING ''gamification: badge % was not evaluated and the failure could not be recorded: %'', ''level_ups'', SQLERRM;
            END;
        END;
    RETURN NULL;
END';
CREATE OR REPLACE TRIGGER gamification_on_update_of AFTER UPDATE ON public.profile FOR EACH ROW EXECUTE FUNCTION gamification.trg_profile_update_of_b67d9745();
