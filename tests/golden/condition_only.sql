CREATE FUNCTION gamification.cond_high_8d966b22(new public.play)
RETURNS boolean
LANGUAGE sql
STABLE
RETURN (NEW.score >= 90)

-- ----

CREATE OR REPLACE FUNCTION gamification.trg_play_insert_ad5f17ab() RETURNS trigger
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
       OR pg_catalog.strpos(pg_catalog.current_setting(''gamification.fast_path_failed'', true), ''|trg_play_insert_ad5f17ab:d76d8f8e|'') = 0 THEN
        BEGIN
            v_single := NOT EXISTS (SELECT FROM new_rows OFFSET 1);
            -- badges high
            IF v_single THEN
                SELECT pg_catalog.concat(new.player),
                       NULL::text[],
                       pg_catalog.array_remove(ARRAY[CASE WHEN gamification.cond_high_8d966b22(new) IS TRUE THEN ''high'' END]::text[], NULL)
                  INTO v_user, v_codes, v_grant_codes
                  FROM new_rows AS new WHERE new.player IS NOT NULL;
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
                               pg_catalog.count(*) FILTER (WHERE gamification.cond_high_8d966b22(new) IS TRUE) AS n1
                          FROM new_rows AS new WHERE new.player IS NOT NULL
                           AND (gamification.cond_high_8d966b22(new) IS TRUE) GROUP BY 1) g
                 CROSS JOIN LATERAL (VALUES (''high'', g.n1, false)) AS x(code, n, counts)
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
                coalesce(pg_catalog.current_setting(''gamification.fast_path_failed'', true), '''') || ''|trg_play_insert_ad5f17ab:d76d8f8e|'', false);
        END;
    END IF;
        BEGIN
            -- badge high
            PERFORM gamification._grant(''high'', ARRAY(SELECT DISTINCT d.user_id FROM (SELECT pg_catalog.concat(new.player) AS user_id FROM new_rows AS new WHERE new.player IS NOT NULL AND gamification.cond_high_8d966b22(new) IS TRUE) d), ''trigger'');
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
            -- The statement failed: its rows again in two halves, each on its own, a
            -- failing half halved again, down to single rows, so that one bad row costs
            -- only itself (about 2 log2(n) shrinking passes per bad row). Rows are reached
            -- by position: transition rows have no key, and naming their type would need
            -- USAGE on the table''s schema.
            DECLARE
                v_from integer[];
                v_count integer[];
                v_at integer;  -- the part in hand: its first row (from 0) and its number of rows
                v_n integer;
            BEGIN
                SELECT pg_catalog.count(*)::integer INTO v_n FROM new_rows;
                v_from := ARRAY[0, v_n / 2];
                v_count := ARRAY[v_n / 2, v_n - v_n / 2];
                WHILE pg_catalog.cardinality(v_from) > 0 LOOP
                    v_at := v_from[pg_catalog.cardinality(v_from)];
                    v_n := v_count[pg_catalog.cardinality(v_count)];
                    v_from := v_from[1:pg_catalog.cardinality(v_from) - 1];
                    v_count := v_count[1:pg_catalog.cardinality(v_count) - 1];
                    CONTINUE WHEN v_n = 0;
                    BEGIN
                        PERFORM gamification._grant(''high'', ARRAY(SELECT DISTINCT d.user_id FROM (SELECT pg_catalog.concat(new.player) AS user_id FROM (SELECT * FROM new_rows OFFSET v_at LIMIT v_n) AS new WHERE new.player IS NOT NULL AND gamification.cond_high_8d966b22(new) IS TRUE) d), ''trigger'');
                    EXCEPTION WHEN OTHERS THEN
                        IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
                        IF v_n > 1 THEN
                            v_from := v_from || ARRAY[v_at + v_n / 2, v_at];
                            v_count := v_count || ARRAY[v_n - v_n / 2, v_n / 2];
                        END IF;
                    END;
                END LOOP;
            END;
            BEGIN
                PERFORM gamification._badge_failed(''high'', SQLSTATE, SQLERRM);
            EXCEPTION WHEN OTHERS THEN
                IF SQLSTATE IN (''40001'', ''40P01'') THEN RAISE; END IF;
                RAISE WARNING ''gamification: badge % was not evaluated and the failure could not be recorded: %'', ''high'', SQLERRM;
            END;
        END;
    RETURN NULL;
END';
CREATE OR REPLACE TRIGGER gamification_on_insert AFTER INSERT ON public.play REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gamification.trg_play_insert_ad5f17ab();
