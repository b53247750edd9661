"""Escalation: the managers' notification rules, what is due to be notified, and each
notification sent (once per incident, rule and event), on the incident's timeline."""

from __future__ import annotations

from typing import Any

from schemas.ids import format_time, utc_now

from .patrols import Patrols


class Rules(Patrols):
    """The `notify_rules`, `notifications` and `notification_claims` tables."""

    def add_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO notify_rules (id, severity, site, events, url, shown_url,"
                " created_at, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rule["id"],
                    rule["severity"],
                    rule["site"],
                    ",".join(rule["events"]),
                    rule["url"],
                    rule["shown_url"],
                    rule["created_at"],
                    rule["by"],
                ),
            )
        return self.rules(rule["id"])[0]

    def rules(self, rule_id: str | None = None) -> list[dict[str, Any]]:
        """The rules in force (the URL only as shown: its secrets masked)."""
        sql, args = (
            "SELECT id, severity, site, events, shown_url AS url, created_at, by"
            " FROM notify_rules WHERE removed_at IS NULL",
            list[Any](),
        )
        if rule_id:
            sql += " AND id = ?"
            args.append(rule_id)
        rows = self._read.execute(sql + " ORDER BY created_at, id", args)
        return [{**dict(r), "events": r["events"].split(",")} for r in rows]

    def remove_rule(self, rule_id: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE notify_rules SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (format_time(utc_now()), rule_id),
            )
            return cursor.rowcount > 0

    def due_notifications(self) -> list[dict[str, Any]]:
        """(incident, rule, kind) to notify now: an incident of the rule's severity and site
        opened since the rule was made, or past its deadline unresolved; each once. A guard's
        panic (`title_code` panic) goes at once to every rule of its severity and site, as
        kind `panic` in place of `opened`, whichever events the rule asks for."""
        now = format_time(utc_now())
        rows = self._read.execute(
            "SELECT i.id AS incident_id, i.site, i.device, i.severity, i.title, i.title_code,"
            " i.status, i.opened_at, i.due_at, r.id AS rule_id, r.url, r.shown_url, k.kind"
            " FROM incidents i"
            " JOIN notify_rules r ON r.removed_at IS NULL AND r.severity = i.severity"
            "  AND (r.site IS NULL OR r.site = i.site)"
            " JOIN (SELECT 'opened' AS kind UNION ALL SELECT 'overdue' UNION ALL SELECT 'panic') k"
            "  ON k.kind = 'panic' OR (',' || r.events || ',') LIKE ('%,' || k.kind || ',%')"
            " WHERE ((k.kind = 'opened' AND i.opened_at >= r.created_at"
            "      AND COALESCE(i.title_code, '') <> 'panic')"
            "  OR (k.kind = 'panic' AND i.opened_at >= r.created_at AND i.title_code = 'panic')"
            "  OR (k.kind = 'overdue' AND i.due_at <= ?"
            "      AND i.status IN ('open', 'acknowledged', 'in_progress')))"
            " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.incident_id = i.id"
            "  AND n.rule_id = r.id AND n.kind = k.kind)"
            " ORDER BY i.opened_at",
            (now,),
        )
        return [dict(r) for r in rows]

    def claim_notification(self, due: dict[str, Any], owner: str, stale_before: str) -> bool:
        """Claim a due notification for `owner` (one hub process) before sending it: False if
        it was sent meanwhile or another process holds a claim made since `stale_before`."""
        key = (due["incident_id"], due["rule_id"], due["kind"])
        with self.transaction() as conn:
            sent = conn.execute(
                "SELECT 1 FROM notifications WHERE incident_id = ? AND rule_id = ? AND kind = ?",
                key,
            ).fetchone()
            if sent:
                return False
            claimed = conn.execute(
                "INSERT INTO notification_claims (incident_id, rule_id, kind, claimed_by,"
                " claimed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id, rule_id, kind)"
                " DO UPDATE SET claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at"
                " WHERE notification_claims.claimed_at < ? RETURNING claimed_by",
                (*key, owner, format_time(utc_now()), stale_before),
            ).fetchone()
            return claimed is not None

    def release_notification(self, due: dict[str, Any], owner: str) -> None:
        """A send failed: the next round (of any process) tries again."""
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM notification_claims WHERE incident_id = ? AND rule_id = ?"
                " AND kind = ? AND claimed_by = ?",
                (due["incident_id"], due["rule_id"], due["kind"], owner),
            )

    def record_notification(
        self, due: dict[str, Any], entry: dict[str, Any], payload: dict[str, Any]
    ) -> None:
        """A notification went out: remember it (never twice) and put it on the incident's
        timeline, which the post receives like a supervisor's entry."""
        incident = {"id": due["incident_id"], "site": due["site"], "device": due["device"]}
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO notifications (incident_id, rule_id, kind, sent_at,"
                " entry_id) VALUES (?, ?, ?, ?, ?)",
                (due["incident_id"], due["rule_id"], due["kind"], entry["at"], entry["id"]),
            )
            self._insert_hub_entry(conn, incident, entry, payload)
