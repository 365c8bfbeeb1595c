-- SPDX-License-Identifier: Apache-2.0
-- mmdx schema 3: a prediction may carry the patient's fused embedding (the
-- shared representation of joint fusion), covered by its content hash like
-- the rest of the row. The writer role inserts it but cannot read it back
-- (its SELECT stays limited to run_id, patient, content_sha256); reviewers
-- read it with the rest of the table.
ALTER TABLE mmdx.predictions ADD COLUMN embedding double precision[];
ALTER TABLE mmdx.predictions ADD CONSTRAINT predictions_embedding_shape
    CHECK (embedding IS NULL OR (array_ndims(embedding) = 1 AND cardinality(embedding) BETWEEN 1 AND 4096));
