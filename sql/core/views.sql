-- Read side: views with fixed column names (a public contract) and
-- badges_for(), the per-user catalogue a UI needs.
{#- or_replace is "OR REPLACE " when an upgrade script includes this file (plain CREATE in the install script). #}

CREATE {{ or_replace }}VIEW gamification.user_badges AS
SELECT a.user_id, b.code, b.name, b.points, b.category, a.awarded_at
  FROM gamification.award a
  JOIN gamification.badge b ON b.code = a.badge_code;
COMMENT ON VIEW gamification.user_badges IS 'Badges currently held: one row per user and badge (points is the badge''s current points).';
COMMENT ON COLUMN gamification.user_badges.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.user_badges.code IS 'The badge''s code.';
COMMENT ON COLUMN gamification.user_badges.name IS 'The badge''s display name.';
COMMENT ON COLUMN gamification.user_badges.points IS 'The badge''s current points (what was paid at award time is in points_history).';
COMMENT ON COLUMN gamification.user_badges.category IS 'The badge''s category code, or NULL.';
COMMENT ON COLUMN gamification.user_badges.awarded_at IS 'When the user was awarded the badge (the latest award after a revoke).';

CREATE {{ or_replace }}VIEW gamification.user_points AS
SELECT t.user_id, t.points
  FROM gamification.points_total t
 WHERE t.point_type = 'points';
COMMENT ON VIEW gamification.user_points IS 'Current points of the default point type (points) of every user whose points of that type have ever changed; every type is in user_points_by_type.';
COMMENT ON COLUMN gamification.user_points.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.user_points.points IS 'The sum of the points of the user''s events (may be negative, 0 after a reset).';

CREATE {{ or_replace }}VIEW gamification.user_progress AS
SELECT p.user_id, b.code, p.progress, b.target
  FROM gamification.progress p
  JOIN gamification.badge b ON b.code = p.badge_code;
COMMENT ON VIEW gamification.user_progress IS 'Stored progress of users towards badges (target is the badge''s current target).';
COMMENT ON COLUMN gamification.user_progress.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.user_progress.code IS 'The badge''s code.';
COMMENT ON COLUMN gamification.user_progress.progress IS 'The user''s stored progress (it keeps counting past the target).';
COMMENT ON COLUMN gamification.user_progress.target IS 'The badge''s current target.';

CREATE {{ or_replace }}VIEW gamification.user_unlockables AS
SELECT t.user_id, u.code, u.name, l.first_unlocked_at AS unlocked_at
  FROM gamification.points_total t
  JOIN gamification.unlockable u ON u.point_type = t.point_type AND t.points >= u.points_required
  LEFT JOIN gamification.unlock l ON l.user_id = t.user_id AND l.unlockable_code = u.code;
COMMENT ON VIEW gamification.user_unlockables IS 'Unlockables held now (points of the unlockable''s point type >= points_required); unlocked_at is the first time the user reached it.';
COMMENT ON COLUMN gamification.user_unlockables.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.user_unlockables.code IS 'The unlockable''s code.';
COMMENT ON COLUMN gamification.user_unlockables.name IS 'The unlockable''s display name.';
COMMENT ON COLUMN gamification.user_unlockables.unlocked_at IS 'The first time the user''s points reached points_required (kept when they dip below and come back).';

CREATE {{ or_replace }}VIEW gamification.badges AS
SELECT b.code, b.name, b.description, b.points, b.category, b.target, b.secret, b.next
  FROM gamification.badge b
 WHERE b.retired_at IS NULL;
COMMENT ON VIEW gamification.badges IS 'The badge catalogue: every registered badge (unregistered ones whose awards were kept are not listed).';
COMMENT ON COLUMN gamification.badges.code IS 'Unique code, 1 to 63 characters from A-Z a-z 0-9 _ . : -.';
COMMENT ON COLUMN gamification.badges.name IS 'Display name.';
COMMENT ON COLUMN gamification.badges.description IS 'Description, or NULL.';
COMMENT ON COLUMN gamification.badges.points IS 'Points paid when the badge is awarded (>= 0).';
COMMENT ON COLUMN gamification.badges.category IS 'Category code, or NULL.';
COMMENT ON COLUMN gamification.badges.target IS 'Progress needed to earn the badge through badge_progress() (or a counter), or NULL.';
COMMENT ON COLUMN gamification.badges.secret IS 'Hidden by badges_for() from users who do not hold it.';
COMMENT ON COLUMN gamification.badges.next IS 'Code of the badge that follows this one in a chain, or NULL.';

CREATE {{ or_replace }}VIEW gamification.points_history AS
SELECT e.user_id, e.points AS amount,
       CASE e.kind WHEN 'badge_awarded' THEN 'badge:' || e.subject
                   WHEN 'badge_revoked' THEN 'revoke:' || e.subject
                   ELSE e.reason END AS reason,
       CASE WHEN e.kind IN ('badge_awarded', 'badge_revoked') THEN e.subject END AS badge,
       e.at AS created_at, e.id
  FROM gamification.event e
 WHERE e.points <> 0 AND e.point_type = 'points';
COMMENT ON VIEW gamification.points_history IS 'Every change of a user''s points of the default point type (the events whose points are not 0), so that they sum to user_points: points given or taken, why, and the badge involved if any. Changes of other point types are in gamification.event (point_type).';
COMMENT ON COLUMN gamification.points_history.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.points_history.amount IS 'Points given (positive) or taken (negative).';
COMMENT ON COLUMN gamification.points_history.reason IS 'Why: the reason given to points_award(), badge:CODE, revoke:CODE or reset.';
COMMENT ON COLUMN gamification.points_history.badge IS 'The badge that paid or took the points, or NULL.';
COMMENT ON COLUMN gamification.points_history.created_at IS 'When it happened (the event''s at).';
COMMENT ON COLUMN gamification.points_history.id IS 'The event''s id in gamification.event: the order of the changes, and a key to page by.';

-- Point types and levels (0.3.0): new views, so that those above keep their columns.
CREATE {{ or_replace }}VIEW gamification.point_types AS
SELECT t.code, t.name, t.description
  FROM gamification.point_type t;
COMMENT ON VIEW gamification.point_types IS 'The point types: points (the default, built in) and those registered with point_type_register(). Added in 0.3.0.';
COMMENT ON COLUMN gamification.point_types.code IS 'The point type''s code (what badges, unlockables, levels and points_award() name).';
COMMENT ON COLUMN gamification.point_types.name IS 'Display name.';
COMMENT ON COLUMN gamification.point_types.description IS 'Description, or NULL.';

CREATE {{ or_replace }}VIEW gamification.user_points_by_type AS
SELECT t.user_id, t.point_type, t.points
  FROM gamification.points_total t;
COMMENT ON VIEW gamification.user_points_by_type IS 'Current points of every user in every point type whose points have ever changed for them (the default type''s rows are user_points). Added in 0.3.0.';
COMMENT ON COLUMN gamification.user_points_by_type.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.user_points_by_type.point_type IS 'The point type''s code.';
COMMENT ON COLUMN gamification.user_points_by_type.points IS 'The sum of the points of the user''s events of that type (may be negative, 0 after a reset).';

CREATE {{ or_replace }}VIEW gamification.levels AS
SELECT l.point_type, l.number, l.name, l.description, l.points_required
  FROM gamification.level l;
COMMENT ON VIEW gamification.levels IS 'The level catalogue: per point type, each level and the points of that type it needs, as registered with level_register(). Added in 0.3.0.';
COMMENT ON COLUMN gamification.levels.point_type IS 'The point type whose total the level reads.';
COMMENT ON COLUMN gamification.levels.number IS 'The level (1, 2, ...): a higher level needs more points.';
COMMENT ON COLUMN gamification.levels.name IS 'Display name (e.g. Contributor).';
COMMENT ON COLUMN gamification.levels.description IS 'Description, or NULL.';
COMMENT ON COLUMN gamification.levels.points_required IS 'The total of the point type at which a user reaches the level.';

CREATE {{ or_replace }}VIEW gamification.user_levels AS
SELECT t.user_id, t.point_type, c.number AS level, c.name, t.points,
       n.number AS next_level, n.name AS next_name, n.points_required - t.points AS points_to_next,
       CASE WHEN n.number IS NULL THEN 1::numeric
            ELSE pg_catalog.round(GREATEST(t.points - coalesce(b.points_required, 0), 0)::numeric
                                  / GREATEST(n.points_required - coalesce(b.points_required, 0), 1), 4) END AS progress
  FROM gamification.points_total t
 CROSS JOIN LATERAL gamification._level_at(t.point_type, t.points) c
  LEFT JOIN gamification.level b ON b.point_type = t.point_type AND b.number = c.number
  LEFT JOIN LATERAL (SELECT l.number, l.name, l.points_required FROM gamification.level l
                      WHERE l.point_type = t.point_type AND l.points_required > t.points
                      ORDER BY l.number LIMIT 1) n ON true
 WHERE EXISTS (SELECT 1 FROM gamification.level l WHERE l.point_type = t.point_type);
COMMENT ON VIEW gamification.user_levels IS 'Each user''s level in every point type that has levels (users with a total of that type): the level reached, the next one and how far it is. Follows the totals and the thresholds at once. Added in 0.3.0.';
COMMENT ON COLUMN gamification.user_levels.user_id IS 'The application''s user key, as text.';
COMMENT ON COLUMN gamification.user_levels.point_type IS 'The point type whose levels these are.';
COMMENT ON COLUMN gamification.user_levels.level IS 'The highest level whose points_required the user''s total reaches; 0 below the first level.';
COMMENT ON COLUMN gamification.user_levels.name IS 'That level''s name (NULL at level 0).';
COMMENT ON COLUMN gamification.user_levels.points IS 'The user''s total of the point type.';
COMMENT ON COLUMN gamification.user_levels.next_level IS 'The next level, or NULL at the top level.';
COMMENT ON COLUMN gamification.user_levels.next_name IS 'The next level''s name, or NULL at the top level.';
COMMENT ON COLUMN gamification.user_levels.points_to_next IS 'Points of the type still needed for the next level, or NULL at the top level.';
COMMENT ON COLUMN gamification.user_levels.progress IS 'How far from the current level''s threshold (0 at level 0) to the next one, from 0 to 1 (4 decimals); 1 at the top level.';

-- The two logs of 0.1.0, now read from the event log with their 0.1.0 columns, for
-- readers that used them (ids are event ids). Read-only.
CREATE {{ or_replace }}VIEW gamification.award_history AS
SELECT e.id, e.user_id, e.subject AS badge_code,
       CASE e.kind WHEN 'badge_awarded' THEN 'award' WHEN 'badge_revoked' THEN 'revoke' ELSE 'reset' END AS action,
       CASE WHEN e.kind = 'badge_reset' THEN -(e.data ->> 'paid')::bigint ELSE e.points END AS points,
       e.reason AS source, e.at
  FROM gamification.event e
 WHERE e.kind IN ('badge_awarded', 'badge_revoked', 'badge_reset');
COMMENT ON VIEW gamification.award_history IS 'Deprecated (the 0.1.0 award history, read from gamification.event): awards, revocations and resets, points being what the award paid or the revocation or reset took back.';

CREATE {{ or_replace }}VIEW gamification.points_ledger AS
SELECT h.id, h.user_id, h.amount, h.reason, h.badge AS badge_code, h.created_at
  FROM gamification.points_history h;
COMMENT ON VIEW gamification.points_ledger IS 'Deprecated (the 0.1.0 points ledger, read from gamification.event): points_history in the 0.1.0 column order.';

-- SECURITY INVOKER: the caller's rights, so row security decides whose awards show
-- (a reader never sees another user's secret badge through it).
CREATE {{ or_replace }}FUNCTION gamification.badges_for(user_id text)
RETURNS TABLE (code text, name text, description text, points bigint, category text, target bigint,
               secret boolean, next text, progress bigint, awarded_at timestamptz)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user text := gamification._require_user($1::text, 'badges_for');
BEGIN
    RETURN QUERY
    SELECT b.code, b.name, b.description, b.points, b.category, b.target, b.secret, b.next,
           p.progress, a.awarded_at
      FROM gamification.badge b
      LEFT JOIN gamification.award a ON a.badge_code = b.code AND a.user_id = v_user
      LEFT JOIN gamification.progress p ON p.badge_code = b.code AND p.user_id = v_user
     WHERE (NOT b.secret AND b.retired_at IS NULL) OR a.user_id IS NOT NULL
     ORDER BY b.code;
END;
$$;
COMMENT ON FUNCTION gamification.badges_for(text) IS
    'Every badge visible to the user (secret badges only if held), with the user''s progress (NULL if none) and awarded_at (NULL if not held), ordered by code. Read-only. Runs with the caller''s rights: with row security on, a reader sees awards and progress only for gamification.viewer().';

CREATE {{ or_replace }}FUNCTION gamification.badges_for(user_id anyelement)
RETURNS TABLE (code text, name text, description text, points bigint, category text, target bigint,
               secret boolean, next text, progress bigint, awarded_at timestamptz)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM gamification.badges_for($1::text) $$;
COMMENT ON FUNCTION gamification.badges_for(anyelement) IS
    'Same as gamification.badges_for(text) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';

CREATE {{ or_replace }}VIEW gamification.leaderboards AS
SELECT b.code, b.name, b.description, b.point_type, b.period,
       CASE WHEN b.period <> 'all' THEN b.time_zone END AS time_zone,
       CASE WHEN b.period = 'week' THEN b.week_start END AS week_start, b.ties, b.ranks_by, b.category
  FROM gamification.leaderboard b;
COMMENT ON VIEW gamification.leaderboards IS 'The leaderboards, as registered with leaderboard_register(); read one with leaderboard_top(), leaderboard_rank() and leaderboard_periods(). Added in 0.3.0.';
COMMENT ON COLUMN gamification.leaderboards.code IS 'The leaderboard''s code (what the reading functions take).';
COMMENT ON COLUMN gamification.leaderboards.name IS 'Display name.';
COMMENT ON COLUMN gamification.leaderboards.description IS 'Description, or NULL.';
COMMENT ON COLUMN gamification.leaderboards.point_type IS 'The point type whose points it ranks; NULL for a board of badges.';
COMMENT ON COLUMN gamification.leaderboards.period IS 'all (the total), or the repeating period whose points it ranks: day, week, month or year.';
COMMENT ON COLUMN gamification.leaderboards.time_zone IS 'The IANA time zone whose midnight starts a period; NULL for all.';
COMMENT ON COLUMN gamification.leaderboards.week_start IS 'The first day of a week (monday to sunday); NULL unless period is week.';
COMMENT ON COLUMN gamification.leaderboards.ties IS 'How equal scores rank: rank (1, 1, 3), dense_rank (1, 1, 2) or first (the first to reach the score ranks first).';
COMMENT ON COLUMN gamification.leaderboards.ranks_by IS 'What a score is: points (the net points of point_type earned in the period) or badges (the net number of badges awarded in the period, of category if set; for an all-time board, the badges held).';
COMMENT ON COLUMN gamification.leaderboards.category IS 'For a board of badges, the category whose badges it counts; NULL: every badge.';
