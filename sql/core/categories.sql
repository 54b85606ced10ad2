-- Categories: register (insert or update in place) and delete. Deleting a
-- category never deletes badges or awards: their category becomes NULL.
{%- from "macros.j2" import reraise, error_vars %}
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}FUNCTION gamification.category_register(definitions jsonb)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER  -- admins write definitions only through the API
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_defs jsonb;
    v_obj jsonb;
    v_idx integer;
    v_label text;
    v_code text;
    v_codes text[] := '{}'::text[];
    v_norm jsonb := '[]'::jsonb;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    v_defs := gamification._as_array('category', $1, 'category_register');  -- in the body: the block's handler sees its errors
    FOR v_obj, v_idx IN SELECT e, o::integer FROM pg_catalog.jsonb_array_elements(v_defs) WITH ORDINALITY AS t(e, o) LOOP
        v_label := gamification._label('category', v_obj, v_idx);
        v_code := gamification._definition_code('category', v_label, v_obj, ARRAY['code', 'name', 'description'],
                                                v_idx, v_codes);
        v_codes := v_codes || v_code;
        v_norm := v_norm || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
            'code', v_code,
            'name', coalesce(gamification._text_field(v_label, v_obj, 'name', false, false,
                                 'Omit "name" to use the code as the name.'), v_code),
            'description', gamification._text_field(v_label, v_obj, 'description', false, false,
                                 'Omit "description" or give a string.')));
    END LOOP;

    INSERT INTO gamification.category AS c (code, name, description)
    SELECT n.code, n.name, n.description
      FROM pg_catalog.jsonb_to_recordset(v_norm) AS n(code text, name text, description text)
     ORDER BY n.code
    ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description;

    RETURN QUERY SELECT pg_catalog.unnest(v_codes);
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.category_register(jsonb) IS
    'Register one category (JSON object) or several (JSON array of objects) with keys code (required), name (defaults to code), description. An existing code is updated in place. Returns the codes registered. Idempotent.';

CREATE {{ or_replace }}FUNCTION gamification.category_delete(code text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- admins write definitions only through the API
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
{{ error_vars }}
BEGIN
    PERFORM gamification._require_code('category', $1, 'category_delete');
    IF EXISTS (SELECT 1 FROM gamification.leaderboard b WHERE b.category = $1) THEN
        RAISE EXCEPTION USING ERRCODE = '2BP01',
            MESSAGE = pg_catalog.format('category "%s" is ranked by leaderboard "%s"', $1,
                          (SELECT b.code FROM gamification.leaderboard b WHERE b.category = $1 ORDER BY b.code LIMIT 1)),
            HINT = 'Unregister the leaderboard first (gamification.leaderboard_unregister()), or register it without "category".';
    END IF;
    DELETE FROM gamification.category c WHERE c.code = $1;
    RETURN FOUND;
{{ reraise() }}
END;
$$;
COMMENT ON FUNCTION gamification.category_delete(text) IS
    'Delete a category. Its badges stay (their category becomes NULL) and so do their awards. Returns true if the category existed, false otherwise. Idempotent. 2BP01 while a leaderboard ranks its badges.';
