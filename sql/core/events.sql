{#- Created once: by the install script, and by the upgrade that introduced it (0.2.0,
    which moves the rows of 0.1.0's award_history and points_ledger into it). #}
-- The event log: one row per thing that happened to a user, appended by the functions
-- that change a user's state, in the same statement as the change. It is at once the
-- award history, the points ledger and the source of events for applications; current
-- state stays in the narrow tables (award, progress, points_total). No foreign key: the
-- log outlives the definitions it names. A public contract (README, docs/reference.md).
CREATE TABLE gamification.event (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    user_id text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('badge_awarded', 'badge_revoked', 'badge_reset', 'points_changed',
                                          'unlockable_unlocked', 'unlockable_locked', 'level_changed')),
    subject text,
    points  bigint NOT NULL DEFAULT 0,
    reason  text,
    data    jsonb,
    txid    xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    origin  text NOT NULL DEFAULT CASE pg_catalog.current_setting('gamification.event_origin', true)
                                 WHEN 'import' THEN 'import' WHEN 'backfill' THEN 'backfill' ELSE 'live' END
            CHECK (origin IN ('live', 'backfill', 'import')),
    point_type text NOT NULL DEFAULT 'points'
);
CREATE INDEX event_user_subject_idx ON gamification.event (user_id, subject, id);
CREATE INDEX event_txid_idx ON gamification.event (txid, id);
COMMENT ON TABLE gamification.event IS 'The event log: one row per thing that happened to a user, in the order it happened (id). Append-only: UPDATE, DELETE and TRUNCATE are refused, except by user_erase() and data_reset(). The sum of points per user is their total.';
COMMENT ON COLUMN gamification.event.id IS 'Position in the log (increasing; within one transaction, the order of the changes).';
COMMENT ON COLUMN gamification.event.at IS 'When it happened (the transaction''s start time, like now()).';
COMMENT ON COLUMN gamification.event.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.event.kind IS 'What happened: badge_awarded, badge_revoked, badge_reset (a badge taken by reset()), points_changed (points_award() or reset()), unlockable_unlocked (the user''s points reached it), unlockable_locked (they fell below it), level_changed (the user''s total of a point type crossed level thresholds, up or down, or the thresholds changed; 0.3.0).';
COMMENT ON COLUMN gamification.event.subject IS 'The badge (badge_*) or unlockable (unlockable_*) code, the point type for level_changed; NULL for points_changed.';
COMMENT ON COLUMN gamification.event.points IS 'The effect on the user''s points: the badge''s points paid on badge_awarded, minus the points paid at award time on badge_revoked, the amount on points_changed, 0 otherwise. sum(points) per user is the user''s total.';
COMMENT ON COLUMN gamification.event.reason IS 'Why: the reason given to points_award() or reset; for badge_awarded how it was earned (trigger, progress, target, backfill, manual); revoke or reset for the badge_revoked and badge_reset kinds; for unlockables NULL, or register when unlockable_register() recorded a first unlock; for level_changed NULL, or register when level_register() changed the thresholds.';
COMMENT ON COLUMN gamification.event.data IS 'A small JSON payload or NULL: badge_reset {"paid": n}, the points the badge had paid (its award''s points), which reset() then takes back with one points_changed row; level_changed {"from": old level, "to": new level, "name": the new level''s name} (level 0, below the first threshold, has no name).';

COMMENT ON COLUMN gamification.event.txid IS 'The id of the transaction that wrote it (pg_current_xact_id()): consumers read the log in (txid, id) order, only below their snapshot''s xmin, so that no event of a transaction that commits later is skipped (events_fetch). Added in 0.3.0.';

COMMENT ON COLUMN gamification.event.origin IS 'live for what happened as it happened; backfill for awards made after the fact (a badge''s backfill, a lowered target) with the points and unlocks that follow, and first unlocks recorded by unlockable_register(); import for events written while the transaction set gamification.event_origin = ''import'' (a bulk import). Consumers registered with live_only skip all but live. Added in 0.3.0.';

COMMENT ON COLUMN gamification.event.point_type IS 'The point type the event is about: what points were paid or taken in (a badge pays in its type; rows from before 0.3.0 are of the default type, points), the unlockable''s type, the level''s type. sum(points) per user and point type is that total. Added in 0.3.0.';

-- The log is user data: pg_dump keeps it, with its sequence.
SELECT pg_catalog.pg_extension_config_dump('gamification.event', '');
SELECT pg_catalog.pg_extension_config_dump('gamification.event_id_seq', '');
