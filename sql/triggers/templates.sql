-- The shapes of generated trigger functions, as templates with named slots (a name in
-- double braces),
-- filled by _trigger_function_sql (triggers/generate.sql) and rendered once. Read them
-- to know what runs inside the application's writes:
--   trigger_function  the CREATE FUNCTION statement (SECURITY DEFINER, owned and run by
--                     gamification_runner, every name qualified, search_path pg_catalog);
--   body              every badge of a table and event on one fast path, in one
--                     subtransaction; if anything fails, the badges one by one, so that
--                     the healthy ones still award and the broken one is logged, and
--                     one by one from then on in that session (gamification.fast_path_failed
--                     lists the functions whose fast path failed);
--   body_one_badge    a row-level function with a single badge: just that badge;
--   one_badge         one badge, isolated: its failure is recorded (or, if even that
--                     fails, warned about) and the write goes on. Serialization failures
--                     and deadlocks are re-raised: they end the transaction whatever we do.
-- The fast path of a statement-level function, per user column:
--   many_rows         any number of rows: one grouped pass with a count(*) FILTER per badge,
--                     counters to _count_many(), other badges to _grant_many() for the users
--                     who do not hold them yet;
--   one_row (+ one_row_counters, one_row_conditions)  a statement of one row, without
--                     aggregates: a CASE per badge lists the badges the row meets, each
--                     counter met is one count_step, held badges are skipped;
--   count_step        one step of a user's progress towards a badge, staged to commit
--                     (_count_many, core/pending.sql).
-- One badge on its own (the fallback, and row-level update_of functions), and per_row, the
-- fallback's fallback: a statement-level badge that failed, evaluated again by halves:
--   row_badge (+ row_award)  an update_of badge on NEW and OLD;
--   rows_count, rows_grant   a statement-level badge over the transition table.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._render(p_template text, p_slots jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_out text := '';
    v_rest text := p_template;
    v_at integer;
    v_end integer;
    v_slot text;
BEGIN
    -- One pass, left to right: a value is never searched for slots itself.
    LOOP
        v_at := pg_catalog.strpos(v_rest, '{' || '{');
        EXIT WHEN v_at = 0;
        v_end := pg_catalog.strpos(pg_catalog.substr(v_rest, v_at + 2), '}' || '}');
        v_slot := pg_catalog.substr(v_rest, v_at + 2, v_end - 1);
        IF NOT p_slots ? v_slot THEN
            RAISE EXCEPTION USING ERRCODE = 'XX000', MESSAGE = pg_catalog.format('template slot %s has no value', v_slot),
                                        HINT = 'A bug in the generator: every slot of a template must be filled.';
        END IF;
        v_out := v_out || pg_catalog.left(v_rest, v_at - 1) || (p_slots ->> v_slot);
        v_rest := pg_catalog.substr(v_rest, v_at + v_end + 3);
    END LOOP;
    RETURN v_out || v_rest;
END;
$$;
COMMENT ON FUNCTION gamification._render(text, jsonb) IS
    'Internal: fill the named slots (a name in double braces) of a template with the values of p_slots, in one pass; a slot without a value is an error.';

CREATE {{ or_replace }}FUNCTION gamification._template(p_name text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
{%- raw %}
    -- The templates themselves (89 lines of data, kept together so they read as one page).
    SELECT CASE p_name
    WHEN 'trigger_function' THEN $t$CREATE OR REPLACE FUNCTION gamification.{{function}}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS {{body}}$t$
    WHEN 'body' THEN $t${{declare}}BEGIN
{{gate}}    -- After the fast path failed once in this session, the badges go one by one at once:
    -- a broken badge would otherwise make every statement evaluate the others twice.
    IF pg_catalog.current_setting('gamification.fast_path_failed', true) IS NULL
       OR pg_catalog.strpos(pg_catalog.current_setting('gamification.fast_path_failed', true), {{marker}}) = 0 THEN
        BEGIN
{{fast_path}}            RETURN NULL;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN ('40001', '40P01') THEN RAISE; END IF;
            PERFORM pg_catalog.set_config('gamification.fast_path_failed',
                coalesce(pg_catalog.current_setting('gamification.fast_path_failed', true), '') || {{marker}}, false);
        END;
    END IF;
{{one_by_one}}    RETURN NULL;
END$t$
    WHEN 'body_one_badge' THEN $t${{declare}}BEGIN
{{gate}}{{one_by_one}}    RETURN NULL;
END$t$
    WHEN 'per_row' THEN $t$            -- The statement failed: its rows again in two halves, each on its own, a
            -- failing half halved again, down to single rows, so that one bad row costs
            -- only itself (about 2 log2(n) shrinking passes per bad row). Rows are reached
            -- by position: transition rows have no key, and naming their type would need
            -- USAGE on the table's schema.
            DECLARE
                v_from integer[];
                v_count integer[];
                v_at integer;  -- the part in hand: its first row (from 0) and its number of rows
                v_n integer;
            BEGIN
                SELECT pg_catalog.count(*)::integer INTO v_n FROM {{rows}};
                v_from := ARRAY[0, v_n / 2];
                v_count := ARRAY[v_n / 2, v_n - v_n / 2];
                WHILE pg_catalog.cardinality(v_from) > 0 LOOP
                    v_at := v_from[pg_catalog.cardinality(v_from)];
                    v_n := v_count[pg_catalog.cardinality(v_count)];
                    v_from := v_from[1:pg_catalog.cardinality(v_from) - 1];
                    v_count := v_count[1:pg_catalog.cardinality(v_count) - 1];
                    CONTINUE WHEN v_n = 0;
                    BEGIN
{{statement}}
                    EXCEPTION WHEN OTHERS THEN
                        IF SQLSTATE IN ('40001', '40P01') THEN RAISE; END IF;
                        IF v_n > 1 THEN
                            v_from := v_from || ARRAY[v_at + v_n / 2, v_at];
                            v_count := v_count || ARRAY[v_n - v_n / 2, v_n / 2];
                        END IF;
                    END;
                END LOOP;
            END;
$t$
    WHEN 'gate' THEN $t$    IF NOT ({{changed}}) THEN
        RETURN NULL;  -- no update_of column changed: nothing to evaluate
    END IF;
$t$
    WHEN 'one_badge' THEN $t$        BEGIN
{{statement}}
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN ('40001', '40P01') THEN RAISE; END IF;
{{per_row}}            BEGIN
                PERFORM gamification._badge_failed({{code}}, SQLSTATE, SQLERRM);
            EXCEPTION WHEN OTHERS THEN
                IF SQLSTATE IN ('40001', '40P01') THEN RAISE; END IF;
                RAISE WARNING 'gamification: badge % was not evaluated and the failure could not be recorded: %', {{code}}, SQLERRM;
            END;
        END;
$t$
    WHEN 'many_rows' THEN $t$SELECT pg_catalog.array_agg(x.code) FILTER (WHERE x.counts), pg_catalog.array_agg(g.user_id) FILTER (WHERE x.counts),
       pg_catalog.array_agg(x.n) FILTER (WHERE x.counts),
       pg_catalog.array_agg(x.code) FILTER (WHERE NOT x.counts), pg_catalog.array_agg(g.user_id) FILTER (WHERE NOT x.counts)
  INTO v_codes, v_users, v_steps, v_grant_codes, v_grant_users
  FROM (SELECT {{user_key}} AS user_id,
               {{counts}}
          FROM {{rows}} WHERE {{user}} IS NOT NULL{{prefilter}} GROUP BY 1) g
 CROSS JOIN LATERAL (VALUES {{badges}}) AS x(code, n, counts)
 WHERE x.n > 0
   AND (x.counts OR {{not_held}});
IF v_codes IS NOT NULL THEN
    PERFORM gamification._count_many(v_codes, v_users, v_steps);
END IF;
IF v_grant_codes IS NOT NULL THEN
    PERFORM gamification._grant_many(v_grant_codes, v_grant_users, 'trigger');
END IF;$t$
    WHEN 'one_row' THEN $t$SELECT {{user_key}},
       {{counters}},
       {{conditions}}
  INTO v_user, v_codes, v_grant_codes
  FROM {{rows}} WHERE {{user}} IS NOT NULL;$t$
    WHEN 'one_row_counters' THEN $t$IF pg_catalog.cardinality(v_codes) > 0 THEN
    PERFORM gamification._count_many(v_codes, pg_catalog.array_fill(v_user, ARRAY[pg_catalog.cardinality(v_codes)]),
                                     pg_catalog.array_fill(1::bigint, ARRAY[pg_catalog.cardinality(v_codes)]));
END IF;$t$
    WHEN 'one_row_conditions' THEN $t$IF pg_catalog.cardinality(v_grant_codes) > 0 THEN
    SELECT pg_catalog.array_agg(c.code) INTO v_grant_codes
      FROM pg_catalog.unnest(v_grant_codes) AS c(code) WHERE {{not_held}};
    IF v_grant_codes IS NOT NULL THEN
        PERFORM gamification._grant_many(v_grant_codes, pg_catalog.array_fill(v_user, ARRAY[pg_catalog.cardinality(v_grant_codes)]), 'trigger');
    END IF;
END IF;$t$
    WHEN 'count_step' THEN $t$PERFORM gamification._count_many(ARRAY[{{code}}], ARRAY[{{user}}], ARRAY[1]::bigint[]);$t$
    WHEN 'row_badge' THEN $t$IF ({{changed}}) AND {{user}} IS NOT NULL THEN
    IF {{predicate}} THEN
{{award}}
    END IF;
END IF;$t$
    WHEN 'row_award' THEN $t$        IF {{not_held}} THEN
            PERFORM gamification._grant({{code}}, ARRAY[{{user_key}}], 'trigger');
        END IF;$t$
    WHEN 'rows_count' THEN $t$PERFORM gamification._count({{code}}, c.users, c.steps)
   FROM (SELECT pg_catalog.array_agg(g.user_id ORDER BY g.user_id) AS users,
                pg_catalog.array_agg(g.n ORDER BY g.user_id) AS steps
           FROM ({{counts}}) g) c
  WHERE c.users IS NOT NULL;$t$
    WHEN 'rows_grant' THEN $t$PERFORM gamification._grant({{code}}, ARRAY(SELECT DISTINCT d.user_id FROM ({{users}}) d), 'trigger');$t$
    END
{%- endraw %}
$fn$;
COMMENT ON FUNCTION gamification._template(text) IS
    'Internal: a template of generated code by name (trigger_function, body, body_one_badge, one_badge), with named slots that _render fills.';
