-- Validation of JSON definitions (badges, categories, unlockables). Each helper
-- reads one field of one definition object and raises a documented error
-- naming the object and the field when the value is not acceptable.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification._code_pattern()
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,62}$'::text $$;
COMMENT ON FUNCTION gamification._code_pattern() IS
    'Internal: the regular expression every badge, category and unlockable code must match (1 to 63 characters: letters, digits, "_", ".", ":", "-"; not starting with ".", ":" or "-").';

CREATE {{ or_replace }}FUNCTION gamification._as_array(p_kind text, p_definitions jsonb, p_function text)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_definitions IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = pg_catalog.format('gamification.%s(): definitions must not be null', p_function),
            HINT = pg_catalog.format('Pass one %s definition as a JSON object, or several as a JSON array of objects.', p_kind);
    END IF;
    CASE pg_catalog.jsonb_typeof(p_definitions)
        WHEN 'object' THEN RETURN pg_catalog.jsonb_build_array(p_definitions);
        WHEN 'array' THEN RETURN p_definitions;
        ELSE
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('gamification.%s(): definitions must be a JSON object or an array of objects, got %s',
                                  p_function, p_definitions::text),
                HINT = pg_catalog.format('Pass one %s definition as a JSON object, or several as a JSON array of objects.', p_kind);
    END CASE;
END;
$$;
COMMENT ON FUNCTION gamification._as_array(text, jsonb, text) IS
    'Internal: one definition object or an array of them, returned as an array; 22004 if null, 22023 for any other JSON type.';

CREATE {{ or_replace }}FUNCTION gamification._label(p_kind text, p_object jsonb, p_index integer)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN pg_catalog.jsonb_typeof(p_object) = 'object'
             AND pg_catalog.jsonb_typeof(p_object -> 'code') = 'string'
             AND (p_object ->> 'code') <> ''
        THEN pg_catalog.format('%s "%s"', p_kind, p_object ->> 'code')
        ELSE pg_catalog.format('%s #%s', p_kind, p_index)
    END
$$;
COMMENT ON FUNCTION gamification._label(text, jsonb, integer) IS
    'Internal: how errors name a definition: kind "code", or kind #n (1-based position) when it has no usable code.';

CREATE {{ or_replace }}FUNCTION gamification._check_object(p_label text, p_object jsonb)
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_object IS NULL OR pg_catalog.jsonb_typeof(p_object) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('%s: must be a JSON object, got %s', p_label, coalesce(p_object::text, 'nothing')),
            HINT = 'Each definition is a JSON object such as {"code": "first_post", "name": "First post"}.';
    END IF;
END;
$$;
COMMENT ON FUNCTION gamification._check_object(text, jsonb) IS
    'Internal: 22023 unless the definition is a JSON object.';

CREATE {{ or_replace }}FUNCTION gamification._check_keys(p_label text, p_object jsonb, p_allowed text[])
RETURNS void
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key text;
    v_best text;
    v_hint text;
BEGIN
    SELECT k INTO v_key
      FROM pg_catalog.jsonb_object_keys(p_object) k
     WHERE k <> ALL (p_allowed)
     ORDER BY k
     LIMIT 1;
    IF v_key IS NULL THEN
        RETURN;
    END IF;
    SELECT a INTO v_best
      FROM pg_catalog.unnest(p_allowed) a
     WHERE gamification._levenshtein(pg_catalog.lower(v_key), a) <= GREATEST(2, pg_catalog.length(a) / 3)
     ORDER BY gamification._levenshtein(pg_catalog.lower(v_key), a), a
     LIMIT 1;
    v_hint := pg_catalog.format('Allowed fields: %s.', pg_catalog.array_to_string(p_allowed, ', '));
    IF v_best IS NOT NULL THEN
        v_hint := pg_catalog.format('Did you mean "%s"? %s', v_best, v_hint);
    END IF;
    RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = pg_catalog.format('%s: unknown field "%s"', p_label, v_key), HINT = coalesce(v_hint, '');
END;
$$;
COMMENT ON FUNCTION gamification._check_keys(text, jsonb, text[]) IS
    'Internal: 22023 naming the first unknown field of a definition, with a close match and the allowed fields in the hint.';

CREATE {{ or_replace }}FUNCTION gamification._max_length(p_field text)
RETURNS integer
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN p_field = 'name' THEN 200 ELSE 4000 END
$$;
COMMENT ON FUNCTION gamification._max_length(text) IS
    'Internal: the longest string a definition field takes: 200 characters for a name, 4000 for anything else (descriptions, conditions, table and column names).';

CREATE {{ or_replace }}FUNCTION gamification._max_integer()
RETURNS bigint
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 1000000000000::bigint
$$;
COMMENT ON FUNCTION gamification._max_integer() IS
    'Internal: the largest number a definition field takes (points, targets, thresholds): 10^12, far below where sums of points could overflow bigint.';

CREATE {{ or_replace }}FUNCTION gamification._text_field(p_label text, p_object jsonb, p_field text,
                                         p_required boolean, p_is_code boolean, p_hint text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := p_object -> p_field;
BEGIN
    IF v IS NULL OR v = 'null'::jsonb THEN
        IF p_required THEN
            RAISE EXCEPTION USING ERRCODE = '22023',
                MESSAGE = pg_catalog.format('%s: field "%s" is required', p_label, p_field), HINT = coalesce(p_hint, '');
        END IF;
        RETURN NULL;
    END IF;
    IF p_is_code THEN
        IF pg_catalog.jsonb_typeof(v) <> 'string' OR (v #>> '{}') !~ gamification._code_pattern() THEN
            PERFORM gamification._field_error(p_label, p_field,
                'a code of 1 to 63 letters, digits, "_", ".", ":" or "-"', v, p_hint);
        END IF;
    ELSIF pg_catalog.jsonb_typeof(v) <> 'string' OR (p_required AND pg_catalog.btrim(v #>> '{}') = '') THEN
        PERFORM gamification._field_error(p_label, p_field,
            CASE WHEN p_required THEN 'a non-empty string' ELSE 'a string' END, v, p_hint);
    ELSIF pg_catalog.length(v #>> '{}') > gamification._max_length(p_field) THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = pg_catalog.format('%s: field "%s" must be at most %s characters, got %s', p_label, p_field,
                              gamification._max_length(p_field), pg_catalog.length(v #>> '{}')),
            HINT = coalesce(p_hint, '');
    END IF;
    RETURN v #>> '{}';
END;
$$;
COMMENT ON FUNCTION gamification._text_field(text, jsonb, text, boolean, boolean, text) IS
    'Internal: read a string field (or a code field checked against gamification._code_pattern()); 22023 if missing when required or of the wrong type.';

CREATE {{ or_replace }}FUNCTION gamification._int_field(p_label text, p_object jsonb, p_field text, p_min bigint,
                                        p_default bigint, p_expected text, p_hint text)
RETURNS bigint
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := p_object -> p_field;
    n numeric;
BEGIN
    IF v IS NULL OR v = 'null'::jsonb THEN
        RETURN p_default;
    END IF;
    IF pg_catalog.jsonb_typeof(v) = 'number' THEN
        n := (v #>> '{}')::numeric;
        IF n = pg_catalog.trunc(n) AND n >= p_min AND n <= gamification._max_integer() THEN
            RETURN n::bigint;
        END IF;
    END IF;
    PERFORM gamification._field_error(p_label, p_field,
        CASE WHEN n IS NOT NULL AND n = pg_catalog.trunc(n) AND n > gamification._max_integer()
             THEN pg_catalog.format('at most %s', gamification._max_integer()) ELSE p_expected END,
        v, p_hint);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION gamification._int_field(text, jsonb, text, bigint, bigint, text, text) IS
    'Internal: read an integer field >= p_min (absent or null gives p_default); 22023 otherwise.';

CREATE {{ or_replace }}FUNCTION gamification._bool_field(p_label text, p_object jsonb, p_field text, p_default boolean, p_hint text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v jsonb := p_object -> p_field;
BEGIN
    IF v IS NULL OR v = 'null'::jsonb THEN
        RETURN p_default;
    END IF;
    IF pg_catalog.jsonb_typeof(v) <> 'boolean' THEN
        PERFORM gamification._field_error(p_label, p_field, 'true or false', v, p_hint);
    END IF;
    RETURN (v #>> '{}')::boolean;
END;
$$;
COMMENT ON FUNCTION gamification._bool_field(text, jsonb, text, boolean, text) IS
    'Internal: read a boolean field (absent or null gives p_default); 22023 otherwise.';

CREATE {{ or_replace }}FUNCTION gamification._definition_code(p_kind text, p_label text, p_obj jsonb, p_allowed text[],
                                              p_index integer, p_seen text[])
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_code text;
BEGIN
    -- The opening of every registration loop (badges, categories, unlockables): the item
    -- is an object with known keys, and a code not seen before in this call.
    PERFORM gamification._check_object(p_label, p_obj);
    PERFORM gamification._check_keys(p_label, p_obj, p_allowed);
    v_code := gamification._text_field(p_label, p_obj, 'code', true, true,
        pg_catalog.format('Give every %s a "code" of 1 to 63 letters, digits, "_", ".", ":" or "-".', p_kind));
    IF v_code = ANY (p_seen) THEN
        RAISE EXCEPTION USING ERRCODE = '42710',
            MESSAGE = pg_catalog.format('%s: code appears more than once in this call (item #%s)', p_label, p_index),
            HINT = pg_catalog.format('Register each %s code once per call.', p_kind);
    END IF;
    RETURN v_code;
END;
$$;
COMMENT ON FUNCTION gamification._definition_code(text, text, jsonb, text[], integer, text[]) IS
    'Internal: check that a definition is an object with allowed keys only and return its code; 42710 if the code is already in p_seen (earlier in the same call).';

CREATE {{ or_replace }}FUNCTION gamification._point_type_must_exist(p_label text, p_field text, p_type text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- The default type needs no look-up (it cannot be removed).
    IF p_type = 'points' THEN
        RETURN p_type;
    END IF;
    IF p_type IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004',
            MESSAGE = pg_catalog.format('%s: %s must not be null', p_label, p_field),
            HINT = 'Name a registered point type, or omit it for the default type, points.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM gamification.point_type t WHERE t.code = p_type) THEN
        RAISE EXCEPTION USING ERRCODE = '42704',
            MESSAGE = pg_catalog.format('%s: %s "%s" is not a registered point type', p_label, p_field, p_type),
            HINT = pg_catalog.format('Register it first: SELECT gamification.point_type_register(''{"code": "%s", "name": "..."}'');', p_type);
    END IF;
    RETURN p_type;
END;
$$;
COMMENT ON FUNCTION gamification._point_type_must_exist(text, text, text) IS
    'Internal: return p_type if it is a registered point type (the default, points, always is); 42704 naming the definition or function (p_label) and the field otherwise, 22004 for null.';

CREATE {{ or_replace }}FUNCTION gamification._point_type_field(p_label text, p_obj jsonb)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- A definition's "point_type": a registered type's code, the default type when omitted.
    SELECT gamification._point_type_must_exist(p_label, 'field "point_type"',
               coalesce(gamification._text_field(p_label, p_obj, 'point_type', false, true,
                            'Omit "point_type" for the default type, points, or give a registered point type''s code.'),
                        'points'))
$$;
COMMENT ON FUNCTION gamification._point_type_field(text, jsonb) IS
    'Internal: read a definition''s "point_type" field (default points); 22023 for a value that is not a code, 42704 for a type that is not registered.';
