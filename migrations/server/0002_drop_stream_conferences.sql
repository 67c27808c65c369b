-- Nothing reads or writes stream_conferences any more: every event row carries its
-- conference, and a stream's conference is its first event's.
DROP TABLE stream_conferences;
