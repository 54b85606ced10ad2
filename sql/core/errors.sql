-- Error helpers. Every error raised by the extension goes through
-- gamification._raise(), so each one has a documented SQLSTATE, a message that
-- names the object (badge "code", or badge #n when there is no code) and the
-- field, and a HINT. The SQLSTATEs are listed in docs/reference.md.

CREATE FUNCTION gamification._raise(p_sqlstate text, p_message text, p_hint text)
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

CREATE FUNCTION gamification._require_user(p_user text, p_function text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_user IS NULL THEN
        PERFORM gamification._raise('22004',
            pg_catalog.format('gamification.%s(): user_id must not be null', p_function),
            'Pass the application''s user key (integer, bigint, uuid or text).');
    END IF;
    IF p_user = '' THEN
        PERFORM gamification._raise('22023',
            pg_catalog.format('gamification.%s(): user_id must not be empty', p_function),
            'Pass the application''s user key (integer, bigint, uuid or text).');
    END IF;
    RETURN p_user;
END;
$$;
COMMENT ON FUNCTION gamification._require_user(text, text) IS
    'Internal: return the user key as text; 22004 if it is null, 22023 if it is empty.';

CREATE FUNCTION gamification._require_code(p_kind text, p_code text, p_function text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_code IS NULL THEN
        PERFORM gamification._raise('22004',
            pg_catalog.format('gamification.%s(): %s code must not be null', p_function, p_kind),
            pg_catalog.format('Pass the code of a registered %s.', p_kind));
    END IF;
    RETURN p_code;
END;
$$;
COMMENT ON FUNCTION gamification._require_code(text, text, text) IS
    'Internal: return the code; 22004 if it is null.';

CREATE FUNCTION gamification._badge_must_exist(p_code text)
RETURNS gamification.badge
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_badge gamification.badge;
BEGIN
    SELECT * INTO v_badge FROM gamification.badge b WHERE b.code = p_code;
    IF NOT FOUND THEN
        PERFORM gamification._raise('42704',
            pg_catalog.format('badge "%s" does not exist', p_code),
            'Register it with gamification.badge_register() first; gamification.badges lists the registered badges.');
    END IF;
    RETURN v_badge;
END;
$$;
COMMENT ON FUNCTION gamification._badge_must_exist(text) IS
    'Internal: return the badge row; 42704 undefined_object if there is no badge with this code.';

CREATE FUNCTION gamification._field_error(p_label text, p_field text, p_expected text, p_got jsonb, p_hint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM gamification._raise('22023',
        pg_catalog.format('%s: field "%s" must be %s, got %s', p_label, p_field, p_expected,
                          coalesce(p_got::text, 'nothing')),
        p_hint);
END;
$$;
COMMENT ON FUNCTION gamification._field_error(text, text, text, jsonb, text) IS
    'Internal: raise 22023 invalid_parameter_value as "<label>: field "<field>" must be <expected>, got <json>".';
