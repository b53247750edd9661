-- Batches that arrived ahead of a gap (issue 17): with several hub processes sharing the events
-- subscription, a post's next batch can reach one process before the batch before it is stored
-- by another. It waits here instead of being dropped (which cost a resend after the post's ack
-- timeout), and whichever process fills the gap stores it in the same transaction. At most
-- `parked.MOST_PARKED` per post; a batch that was stored anyway is deleted.
CREATE TABLE IF NOT EXISTS parked_batches (
    site TEXT NOT NULL,
    device TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    events TEXT NOT NULL,
    parked_at TEXT NOT NULL,
    PRIMARY KEY (site, device, first_seq)
);
