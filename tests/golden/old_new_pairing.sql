CREATE FUNCTION gamification.cond_titled_65f52957(new public.profile, old public.profile)
RETURNS boolean
LANGUAGE sql
STABLE
RETURN (SELECT NEW.title IS DISTINCT FROM OLD.title)

-- ----

CREATE OR REPLACE FUNCTION gamification.trg_profile_update_b67d9745() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS '#variable_conflict use_column
DECLARE
    v_single boolean;
    v_user text;
    v_codes text[];
    v_users text[];
    v_steps bigint[];
    v_grant_codes text[];
    v_grant_users text[];
BEGIN
    -- After the fast path failed once in this session, the badges go one by one at once:
    -- a broken badge would otherwise make every statement evaluate the others twice.
    IF pg_catalog.current_setting(''gamification.fast_path_failed'', true) IS NULL
       OR pg_catalog.strpos(pg_catalog.current_setting(''gamification.fast_path_failed'', true), ''|trg_profile_update_b67d9745:15f72719|'') = 0 THEN
        BEGIN
            v_single := NOT EXISTS (SELECT FROM new_rows OFFSET 1);
            -- badges titled
            IF v_single THEN
                SELECT pg_catalog.concat(new.player),
                       NULL::text[],
                       pg_catalog.array_remove(ARRAY[CASE WHEN gamification.cond_titled_65f52957(new, old) IS TRUE THEN ''titled'' END]::text[], NULL)
                  INTO v_user, v_codes, v_grant_codes
                  FROM new_rows AS new JOIN old_rows AS old ON pg_catalog.concat(old.player) = pg_catalog.concat(new.player) WHERE new.player IS NOT NULL;
                IF pg_catalog.cardinality(v_grant_codes) > 0 THEN
                    SELECT pg_catalog.array_agg(c.code) INTO v_grant_codes
                      FROM pg_catalog.unnest(v_grant_codes) AS c(code) WHERE NOT EXISTS (SELECT 1 FROM gamification.award a WHERE a.user_id = v_user AND a.badge_code = c.code);
                    IF v_grant_codes IS NOT NULL THEN
                        PERFORM gamification._grant_many(v_grant_codes, pg_catalog.array_fill(v_user, ARRAY[pg_catalog.cardinality(v_grant_codes)]), ''trigger'');
                    END IF;
                END IF;
            ELSE
                SELECT pg_catalog.array_agg(x.code) FILTER (WHERE x.counts), pg_catalog.array_agg(g.user_id) FILTER (WHERE x.counts),
                       pg_catalog.array_agg(x.n) FILTER (WHERE x.counts),
                       pg_catalog.array_agg(x.code) FILTER (WHERE NOT x.counts), pg_catalog.array_agg(g.user_id) FILTER (WHERE NOT x.counts)
                  INTO v_codes, v_users, v_steps, v_grant_codes, v_grant_users
                  FROM (SELECT pg_catalog.concat(new.player) AS user_id,
                               pg_catalog.count(*) FILTER (WHERE gamification.cond_titled_65f52957(new, old) IS TRUE) AS n1
                          FROM new_rows AS new JOIN old_rows AS old ON pg_catalog.concat(old.player) = pg_catalog.concat(new.player) WHERE new.player IS NOT NULL GROUP BY 1) g
                 CROSS JOIN LATERAL (VALUES (''titled'', g.n1, false)) AS x(code, n, counts)
                 WHERE x.n > 0
                   AND (x.counts OR NOT EXISTS (SELECT 1 FROM gamification.award a WHERE a.user_id = g.user_id AND a.badge_code = x.code));
                IF v_codes IS NOT NULL THEN
                    PERFORM gamification._count_many(v_codes, v_users, v_steps);
                END IF;
                IF v_grant_codes IS NOT NULL THEN
                    PERFORM gamification._grant_many(v_grant_codes, v_grant_users, ''trigger'');
                END IF;
            END IF;
            
            RETURN NULL;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
            PERFORM pg_catalog.set_config(''gamification.fast_path_failed'',
                coalesce(pg_catalog.current_setting(''gamification.fast_path_failed'', true), '''') || ''|trg_profile_update_b67d9745:15f72719|'', false);
        END;
    END IF;
        BEGIN
            -- badge titled
            PERFORM gamification._grant(''titled'', ARRAY(SELECT DISTINCT d.user_id FROM (SELECT pg_catalog.concat(new.player) AS user_id FROM new_rows AS new JOIN old_rows AS old ON pg_catalog.concat(old.player) = pg_catalog.concat(new.player) WHERE new.player IS NOT NULL AND gamification.cond_titled_65f52957(new, old) IS TRUE) d), ''trigger'');
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
            BEGIN
                PERFORM gamification._badge_failed(''titled'', SQLSTATE, SQLERRM);
            EXCEPTION WHEN OTHERS THEN
                IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
                RAISE WARNING ''gamification: badge % was not evaluated and the failure could not be recorded: %'', ''titled'', SQLERRM;
            END;
        END;
    RETURN NULL;
END';
CREATE OR REPLACE TRIGGER gamification_on_update AFTER UPDATE ON public.profile REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gamification.trg_profile_update_b67d9745();
