-- Trigger badges: the registry of rules that the generated triggers evaluate.
-- A rule belongs to one badge; the badge's points, category, target and secret
-- flag live in gamification.badge like any manual badge's.

CREATE TABLE gamification.badge_rule (
    badge_code    text PRIMARY KEY REFERENCES gamification.badge (code) ON DELETE CASCADE ON UPDATE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('condition', 'counter')),
    table_name    regclass NOT NULL,  -- regclass, so pg_dump writes the table's name and a RENAME follows
    event         text NOT NULL CHECK (event IN ('insert', 'update', 'delete')),
    user_field    name NOT NULL,
    condition     text,               -- condition badges: the tail of a SELECT, with NEW/OLD
    counter_where text,               -- counter badges: which rows count (a boolean expression)
    update_of     name[],             -- update badges: only these columns' changes are seen
    search_path   text NOT NULL,      -- names in condition/where resolve with this, fixed at registration
    fire_on_replica boolean NOT NULL DEFAULT false,
    generated_at  timestamptz,        -- when the code evaluating it was last (re)generated
    CHECK ((kind = 'condition') = (condition IS NOT NULL)),
    CHECK (update_of IS NULL OR event = 'update')
);
CREATE INDEX badge_rule_table_idx ON gamification.badge_rule (table_name, event);
COMMENT ON TABLE gamification.badge_rule IS
    'How a trigger badge is awarded: on which table and event, for which user column, under which condition (or which rows a counter counts). Written by badge_register(); read by the generated trigger functions'' generator.';

CREATE TABLE gamification.badge_error (
    id         bigserial PRIMARY KEY,
    badge_code text NOT NULL,
    sqlstate   text NOT NULL,
    message    text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX badge_error_badge_idx ON gamification.badge_error (badge_code, id);
COMMENT ON TABLE gamification.badge_error IS
    'Errors met while evaluating a trigger badge inside someone''s write. The write itself goes on; the badge is reported broken in gamification.badge_status until it evaluates cleanly again.';

SELECT pg_catalog.pg_extension_config_dump('gamification.badge_rule', '');
