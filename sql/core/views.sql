-- Read side: views with fixed column names (a public contract) and
-- badges_for(), the per-user catalogue a UI needs.

CREATE VIEW gamification.user_badges AS
SELECT a.user_id, b.code, b.name, b.points, b.category, a.awarded_at
  FROM gamification.award a
  JOIN gamification.badge b ON b.code = a.badge_code;
COMMENT ON VIEW gamification.user_badges IS 'Badges currently held: one row per user and badge (points is the badge''s current points).';

CREATE VIEW gamification.user_points AS
SELECT t.user_id, t.points
  FROM gamification.points_total t;
COMMENT ON VIEW gamification.user_points IS 'Current points of every user who has ever had a ledger row.';

CREATE VIEW gamification.user_progress AS
SELECT p.user_id, b.code, p.progress, b.target
  FROM gamification.progress p
  JOIN gamification.badge b ON b.code = p.badge_code;
COMMENT ON VIEW gamification.user_progress IS 'Stored progress of users towards badges (target is the badge''s current target).';

CREATE VIEW gamification.user_unlockables AS
SELECT t.user_id, u.code, u.name, l.first_unlocked_at AS unlocked_at
  FROM gamification.points_total t
  JOIN gamification.unlockable u ON t.points >= u.points_required
  LEFT JOIN gamification.unlock l ON l.user_id = t.user_id AND l.unlockable_code = u.code;
COMMENT ON VIEW gamification.user_unlockables IS 'Unlockables held now (points >= points_required); unlocked_at is the first time the user reached it.';

CREATE VIEW gamification.badges AS
SELECT b.code, b.name, b.description, b.points, b.category, b.target, b.secret, b.next
  FROM gamification.badge b
 WHERE b.retired_at IS NULL;
COMMENT ON VIEW gamification.badges IS 'The badge catalogue: every registered badge (unregistered ones whose awards were kept are not listed).';

CREATE VIEW gamification.points_history AS
SELECT l.user_id, l.amount, l.reason, l.badge_code AS badge, l.created_at
  FROM gamification.points_ledger l;
COMMENT ON VIEW gamification.points_history IS 'Every ledger row: points given or taken, why, and the badge involved if any.';

-- SECURITY INVOKER: the caller's rights, so row security decides whose awards show
-- (a reader never sees another user's secret badge through it).
CREATE FUNCTION gamification.badges_for(user_id text)
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

CREATE FUNCTION gamification.badges_for(user_id anyelement)
RETURNS TABLE (code text, name text, description text, points bigint, category text, target bigint,
               secret boolean, next text, progress bigint, awarded_at timestamptz)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM gamification.badges_for($1::text) $$;
COMMENT ON FUNCTION gamification.badges_for(anyelement) IS
    'Same as gamification.badges_for(text) for any user key type (integer, bigint, uuid, ...): the key is converted with ::text.';
