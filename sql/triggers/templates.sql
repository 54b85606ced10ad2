-- The shapes of generated trigger functions, as templates with named slots (a name in
-- double braces),
-- filled by _trigger_function_sql (triggers/generate.sql) and rendered once. Read them
-- to know what runs inside the application's writes:
--   trigger_function  the CREATE FUNCTION statement (SECURITY DEFINER, owned and run by
--                     gamification_runner, every name qualified, search_path pg_catalog);
--   body              every badge of a table and event on one fast path, in one
--                     subtransaction; if anything fails, the badges one by one, so that
--                     the healthy ones still award and the broken one is logged;
--   body_one_badge    a row-level function with a single badge: just that badge;
--   one_badge         one badge, isolated: its failure is recorded (or, if even that
--                     fails, warned about) and the write goes on. Serialization failures
--                     and deadlocks are re-raised: they end the transaction whatever we do.
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
            PERFORM gamification._raise('XX000', pg_catalog.format('template slot %s has no value', v_slot),
                                        'A bug in the generator: every slot of a template must be filled.');
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
    SELECT CASE p_name
    WHEN 'trigger_function' THEN $t$CREATE OR REPLACE FUNCTION gamification.{{function}}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS {{body}}$t$
    WHEN 'body' THEN $t${{declare}}BEGIN
    BEGIN
{{fast_path}}    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE IN ('40001', '40P01') THEN RAISE; END IF;
{{one_by_one}}    END;
    RETURN NULL;
END$t$
    WHEN 'body_one_badge' THEN $t${{declare}}BEGIN
{{one_by_one}}    RETURN NULL;
END$t$
    WHEN 'one_badge' THEN $t$        BEGIN
{{statement}}
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE IN ('40001', '40P01') THEN RAISE; END IF;
            BEGIN
                PERFORM gamification._badge_failed({{code}}, SQLSTATE, SQLERRM);
            EXCEPTION WHEN OTHERS THEN
                IF SQLSTATE IN ('40001', '40P01') THEN RAISE; END IF;
                RAISE WARNING 'gamification: badge % was not evaluated and the failure could not be recorded: %', {{code}}, SQLERRM;
            END;
        END;
$t$
    END
{%- endraw %}
$fn$;
COMMENT ON FUNCTION gamification._template(text) IS
    'Internal: a template of generated code by name (trigger_function, body, body_one_badge, one_badge), with named slots that _render fills.';
