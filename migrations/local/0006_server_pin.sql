-- The server's TLS certificate this device pinned when it was enrolled (SHA-256 of the
-- certificate, hex; NULL: plain HTTP on loopback, or a certificate a public authority
-- signed), and whether the person allowed plain HTTP beyond this machine.
ALTER TABLE sync_state ADD COLUMN server_pin TEXT;
ALTER TABLE sync_state ADD COLUMN insecure_http INTEGER NOT NULL DEFAULT 0;
