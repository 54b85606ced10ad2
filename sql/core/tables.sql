-- Tables of the gamification core. They store only what happened: definitions,
-- held awards, stored progress, points totals and first unlock times; the event log is
-- in core/events.sql.
-- There is never a row per user x definition, and no users table: a user is the
-- host application's key, stored as text.

CREATE TABLE gamification.category (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE gamification.category IS 'Badge categories. Deleting one never deletes badges or awards: badge.category becomes NULL.';

CREATE TABLE gamification.badge (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    description text,
    points      bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    category    text REFERENCES gamification.category (code) ON DELETE SET NULL ON UPDATE CASCADE,
    target      bigint CHECK (target > 0),
    secret      boolean NOT NULL DEFAULT false,
    next        text REFERENCES gamification.badge (code) ON DELETE SET NULL ON UPDATE CASCADE
                     DEFERRABLE INITIALLY DEFERRED,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
COMMENT ON TABLE gamification.badge IS 'Badge definitions, as registered by gamification.badge_register(); definition keeps the JSON object as registered. retired_at is set when the badge was unregistered but its awards were kept: it is out of the catalogue and cannot be awarded, and registering the code again revives it.';

CREATE TABLE gamification.award (
    user_id    text NOT NULL,
    badge_code text NOT NULL REFERENCES gamification.badge (code) ON UPDATE CASCADE,
    awarded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, badge_code)
);
CREATE INDEX award_badge_code_idx ON gamification.award (badge_code);
COMMENT ON TABLE gamification.award IS 'Badges currently held, one row per user and badge. Written only by gamification._grant() and gamification._revoke().';

CREATE TABLE gamification.progress (
    user_id    text NOT NULL,
    badge_code text NOT NULL REFERENCES gamification.badge (code) ON UPDATE CASCADE,
    progress   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, badge_code)
);
CREATE INDEX progress_badge_code_idx ON gamification.progress (badge_code);
COMMENT ON TABLE gamification.progress IS 'Stored progress of a user towards a badge with a target.';

CREATE TABLE gamification.points_total (
    user_id text PRIMARY KEY,
    points  bigint NOT NULL,
    pruned  bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE gamification.points_total IS 'Per-user sum of the points of gamification.event, maintained by the functions that append events (_points_apply), in the same statement order.';
COMMENT ON COLUMN gamification.points_total.pruned IS 'The points of this user''s events that events_prune() deleted: points = pruned + the sum of the events left. Added in 0.3.0.';

CREATE TABLE gamification.unlockable (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    description     text,
    points_required bigint NOT NULL CHECK (points_required >= 0),
    definition      jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE gamification.unlockable IS 'Things a user holds while their points reach points_required.';

CREATE TABLE gamification.unlock (
    user_id           text NOT NULL,
    unlockable_code   text NOT NULL REFERENCES gamification.unlockable (code) ON DELETE CASCADE ON UPDATE CASCADE,
    first_unlocked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, unlockable_code)
);
COMMENT ON TABLE gamification.unlock IS 'First time a user reached an unlockable. Holding it is derived (points >= points_required); this row only keeps the first unlock time.';

-- Definitions and user data survive pg_dump, current state included: points_total is
-- derived from the event log (core/events.sql) but dumped with it, in one snapshot, so
-- a data-only restore, which loads the log without running any code of ours, leaves
-- every total right.
SELECT pg_catalog.pg_extension_config_dump('gamification.category', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.badge', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.award', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.progress', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.points_total', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.unlockable', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.unlock', '');
