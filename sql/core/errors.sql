-- Error helpers. Every error raised by the extension has a documented SQLSTATE, a
-- message that names the object (badge "code", or badge #n when there is no code) and
-- the field, and a HINT. PL/pgSQL raises them itself (RAISE ... USING ERRCODE, MESSAGE,
-- HINT): a helper would add its own frame and the whole calling statement to every
-- error's CONTEXT. gamification._raise() is for SQL-language callers (and the runtime
-- interface). A new SQLSTATE goes into docs/errors.toml, the source of the errors
-- in docs/reference.md (tests/test_reference.py fails until it is there).
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._raise(p_sqlstate text, p_message text, p_hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = p_message, HINT = coalesce(p_hint, '');
END;
$$;
COMMENT ON FUNCTION gamification._raise(text, text, text) IS
    'Internal: raise an error with the given SQLSTATE, message and hint.';

CREATE {{ or_replace }}FUNCTION gamification._require_user(p_user text, p_function text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_user IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = pg_catalog.format('gamification.%s(): user_id must not be null', p_function),
            HINT = 'Pass the application''s user key (integer, bigint, uuid or text).';
    END IF;
    IF p_user = '' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('gamification.%s(): user_id must not be empty', p_function),
            HINT = 'Pass the application''s user key (integer, bigint, uuid or text).';
    END IF;
    RETURN p_user;
END;
$$;
COMMENT ON FUNCTION gamification._require_user(text, text) IS
    'Internal: return the user key as text; 22004 if it is null, 22023 if it is empty.';

CREATE {{ or_replace }}FUNCTION gamification._require_code(p_kind text, p_code text, p_function text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_code IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = pg_catalog.format('gamification.%s(): %s code must not be null', p_function, p_kind),
            HINT = pg_catalog.format('Pass the code of a registered %s.', p_kind);
    END IF;
    RETURN p_code;
END;
$$;
COMMENT ON FUNCTION gamification._require_code(text, text, text) IS
    'Internal: return the code; 22004 if it is null.';

CREATE {{ or_replace }}FUNCTION gamification._levenshtein(a text, b text)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    la integer := pg_catalog.length(a);
    lb integer := pg_catalog.length(b);
    prev integer[];
    cur integer[];
BEGIN
    IF la = 0 THEN RETURN lb; END IF;
    IF lb = 0 THEN RETURN la; END IF;
    prev := ARRAY(SELECT g FROM pg_catalog.generate_series(0, lb) g);
    FOR i IN 1 .. la LOOP
        cur := ARRAY[i];
        FOR j IN 1 .. lb LOOP
            cur := cur || LEAST(prev[j + 1] + 1, cur[j] + 1,
                                prev[j] + CASE WHEN pg_catalog.substr(a, i, 1) = pg_catalog.substr(b, j, 1) THEN 0 ELSE 1 END);
        END LOOP;
        prev := cur;
    END LOOP;
    RETURN prev[lb + 1];
END;
$$;
COMMENT ON FUNCTION gamification._levenshtein(text, text) IS
    'Internal: edit distance between two short strings, used to suggest a close match for an unknown field.';


CREATE {{ or_replace }}FUNCTION gamification._badge_must_exist(p_code text)
RETURNS gamification.badge
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_badge gamification.badge;
    v_close text;
BEGIN
    SELECT * INTO v_badge FROM gamification.badge b WHERE b.code = p_code;
    IF NOT FOUND THEN
        -- A typo gets a did-you-mean, like an unknown field does (only on this error path).
        SELECT b.code INTO v_close FROM gamification.badge b
         WHERE b.retired_at IS NULL
           AND gamification._levenshtein(pg_catalog.lower(p_code), pg_catalog.lower(b.code))
               <= GREATEST(2, pg_catalog.length(b.code) / 3)
         ORDER BY gamification._levenshtein(pg_catalog.lower(p_code), pg_catalog.lower(b.code)), b.code
         LIMIT 1;
        RAISE EXCEPTION USING ERRCODE = '42704',
            MESSAGE = pg_catalog.format('badge "%s" does not exist', p_code),
            HINT = coalesce(CASE WHEN v_close IS NOT NULL THEN pg_catalog.format('Did you mean "%s"? ', v_close) ELSE '' END
            || 'Register it with gamification.badge_register() first; gamification.badges lists the registered badges.', '');
    END IF;
    RETURN v_badge;
END;
$$;
COMMENT ON FUNCTION gamification._badge_must_exist(text) IS
    'Internal: return the badge row; 42704 undefined_object if there is no badge with this code.';

CREATE {{ or_replace }}FUNCTION gamification._field_error(p_label text, p_field text, p_expected text, p_got jsonb, p_hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = pg_catalog.format('%s: field "%s" must be %s, got %s', p_label, p_field, p_expected,
                          coalesce(p_got::text, 'nothing')),
        HINT = coalesce(p_hint, '');
END;
$$;
COMMENT ON FUNCTION gamification._field_error(text, text, text, jsonb, text) IS
    'Internal: raise 22023 invalid_parameter_value as "<label>: field "<field>" must be <expected>, got <json>".';
