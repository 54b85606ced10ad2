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

-- Point types (0.3.0): points are of a type; the default type, points, is the only one
-- until others are registered, and is what user_points and every 0.2.0 call read and pay.
CREATE TABLE gamification.point_type (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE gamification.point_type IS 'Kinds of points (XP, coins, karma, ...), as registered by gamification.point_type_register(). The default type, points, is built in: what user_points shows and what every call that names no type pays. Added in 0.3.0.';
INSERT INTO gamification.point_type (code, name, description)
VALUES ('points', 'Points', 'The default point type: user_points, and every call that names no type.');

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
    retired_at  timestamptz,
    point_type  text NOT NULL DEFAULT 'points' REFERENCES gamification.point_type (code) ON UPDATE CASCADE
);
COMMENT ON TABLE gamification.badge IS 'Badge definitions, as registered by gamification.badge_register(); definition keeps the JSON object as registered. retired_at is set when the badge was unregistered but its awards were kept: it is out of the catalogue and cannot be awarded, and registering the code again revives it.';

COMMENT ON COLUMN gamification.badge.point_type IS 'The point type its points are paid in (definition field "point_type", default points). Added in 0.3.0.';

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

-- Keyed by the user first (a Citus distribution key), then the point type. No foreign key
-- to point_type: a user's first points of a type would lock that type's row.
CREATE TABLE gamification.points_total (
    user_id    text NOT NULL,
    points     bigint NOT NULL,
    pruned     bigint NOT NULL DEFAULT 0,
    point_type text NOT NULL DEFAULT 'points',
    PRIMARY KEY (user_id, point_type)
);
COMMENT ON TABLE gamification.points_total IS 'Per-user and per point type sum of the points of gamification.event, maintained by the functions that append events (_points_apply), in the same statement order.';
COMMENT ON COLUMN gamification.points_total.pruned IS 'The points of this user''s events that events_prune() deleted: points = pruned + the sum of the events left. Added in 0.3.0.';
COMMENT ON COLUMN gamification.points_total.point_type IS 'The point type of this total (rows from before 0.3.0 are of the default type, points). Added in 0.3.0.';

CREATE TABLE gamification.unlockable (
    code            text PRIMARY KEY,
    name            text NOT NULL,
    description     text,
    points_required bigint NOT NULL CHECK (points_required >= 0),
    definition      jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    point_type      text NOT NULL DEFAULT 'points' REFERENCES gamification.point_type (code) ON UPDATE CASCADE
);
COMMENT ON TABLE gamification.unlockable IS 'Things a user holds while their points reach points_required.';
COMMENT ON COLUMN gamification.unlockable.point_type IS 'The point type whose total it reads (definition field "point_type", default points). Added in 0.3.0.';

CREATE TABLE gamification.unlock (
    user_id           text NOT NULL,
    unlockable_code   text NOT NULL REFERENCES gamification.unlockable (code) ON DELETE CASCADE ON UPDATE CASCADE,
    first_unlocked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, unlockable_code)
);
COMMENT ON TABLE gamification.unlock IS 'First time a user reached an unlockable. Holding it is derived (points >= points_required); this row only keeps the first unlock time.';

-- Levels (0.3.0): thresholds on a point type. A user's level is derived from their total
-- (the highest level whose points_required it reaches, 0 below the first), like holding
-- an unlockable; a change of level is recorded in the event log (level_changed).
CREATE TABLE gamification.level (
    point_type      text NOT NULL REFERENCES gamification.point_type (code) ON UPDATE CASCADE,
    number          integer NOT NULL CHECK (number > 0),
    name            text NOT NULL,
    description     text,
    points_required bigint NOT NULL CHECK (points_required >= 0),
    definition      jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (point_type, number)
);
COMMENT ON TABLE gamification.level IS 'Levels of a point type, as registered by gamification.level_register(): level number is reached at points_required points of that type; a higher number needs more points. Added in 0.3.0.';

-- Leaderboards (0.3.0): a board ranks users by the points of a point type, or by badges
-- earned (of one category, or all), over a period (all time, or a repeating day, week,
-- month or year in a time zone). Scores are kept per board, period and user, written with
-- the totals and awards (_leaderboard_add, core/runtime.sql) under the user's lock; a
-- closed period's rows stay: they are its final standings.
CREATE TABLE gamification.leaderboard (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    description text,
    ranks_by    text NOT NULL DEFAULT 'points' CHECK (ranks_by IN ('points', 'badges')),
    point_type  text REFERENCES gamification.point_type (code) ON UPDATE CASCADE,
    category    text REFERENCES gamification.category (code) ON UPDATE CASCADE,
    period      text NOT NULL CHECK (period IN ('all', 'day', 'week', 'month', 'year')),
    time_zone   text NOT NULL DEFAULT 'UTC',
    week_start  text NOT NULL DEFAULT 'monday'
                CHECK (week_start IN ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')),
    ties        text NOT NULL DEFAULT 'rank' CHECK (ties IN ('rank', 'dense_rank', 'first')),
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((ranks_by = 'points') = (point_type IS NOT NULL)),
    CHECK (category IS NULL OR ranks_by = 'badges')
);
COMMENT ON TABLE gamification.leaderboard IS 'Leaderboard definitions, as registered by gamification.leaderboard_register(): a ranking of users by what ranks_by says (points: the net points of point_type; badges: the net number of badges awarded, of category or of all) earned in a period (all: the total, for badges those held; day, week, month, year: repeating, starting at midnight in time_zone, a week on week_start), ties ranked by ties. Added in 0.3.0.';

-- No foreign key to leaderboard: every write of a user's points would lock the board's row.
CREATE TABLE gamification.leaderboard_score (
    leaderboard  text NOT NULL,
    period_start timestamptz NOT NULL,
    user_id      text NOT NULL,
    score        bigint NOT NULL,
    reached_at   timestamptz NOT NULL,
    previous_score bigint,  -- the score the last change replaced: which range the user left
    PRIMARY KEY (leaderboard, period_start, user_id)
);
CREATE INDEX leaderboard_score_rank_idx
    ON gamification.leaderboard_score (leaderboard, period_start, score DESC, reached_at, user_id);
COMMENT ON TABLE gamification.leaderboard_score IS 'Per leaderboard, period and user: the net points of the board''s point type earned in the period (period_start -infinity for an all-time board: the total), and reached_at, when that score was reached (ties ranked first); previous_score, the score its last change replaced (NULL: none). Maintained with the totals by _points_apply; rows of closed periods stay. Added in 0.3.0.';

-- How many users each score range holds, per board and period: what makes a rank a sum of
-- a few hundred rows instead of a count of everyone ahead (leaderboard_rank). Kept as
-- deltas, never updated: a writer whose user's score moves to another range inserts -1
-- for the old range and +1 for the new one, so writers never wait for each other here (a
-- counter row updated in place would serialise every writer of a popular range until
-- commit). Writers in READ COMMITTED fold a range's rows into one now and then, skipping
-- rows others hold (_leaderboard_fold). No primary key on purpose: several rows per range.
CREATE TABLE gamification.leaderboard_count (
    leaderboard  text NOT NULL,
    period_start timestamptz NOT NULL,
    bucket       integer NOT NULL,
    users        bigint NOT NULL
);
CREATE INDEX leaderboard_count_idx
    ON gamification.leaderboard_count (leaderboard, period_start, bucket) INCLUDE (users);
COMMENT ON TABLE gamification.leaderboard_count IS 'Per leaderboard, period and score range (bucket, _leaderboard_bucket() of a score): changes to the number of users whose score is in that range; the sum of a range''s rows is its count. Written with the scores (deltas, never updated in place), folded now and then by writers; verified and repaired by leaderboard_verify(). Added in 0.3.0.';

CREATE TABLE gamification.leaderboard_exclusion (
    leaderboard text NOT NULL REFERENCES gamification.leaderboard (code) ON DELETE CASCADE ON UPDATE CASCADE,
    user_id     text NOT NULL,
    excluded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (leaderboard, user_id)
);
COMMENT ON TABLE gamification.leaderboard_exclusion IS 'Users left out of a leaderboard''s rankings (staff, banned), by leaderboard_exclude(): their points and scores are kept, they are only not ranked. Added in 0.3.0.';

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
-- The default point type is created by the extension itself: only the others are dumped.
SELECT pg_catalog.pg_extension_config_dump('gamification.point_type', 'WHERE code <> ''points''');
SELECT pg_catalog.pg_extension_config_dump('gamification.level', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.leaderboard', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.leaderboard_score', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.leaderboard_count', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.leaderboard_exclusion', '');
