-- SPDX-License-Identifier: Apache-2.0
-- mmdx schema 4: beside the fused embedding, a joint-fusion prediction may
-- carry each modality's token: the model's modalities in order, as many
-- values each as the embedding has, NaN for a modality the patient did not
-- have. Covered by the row's content hash (prediction hash v3); readable,
-- like the embedding, by reviewers and not by the writer role.
ALTER TABLE mmdx.predictions ADD COLUMN modality_embeddings double precision[];
ALTER TABLE mmdx.predictions ADD CONSTRAINT predictions_modality_embeddings_shape
    CHECK (modality_embeddings IS NULL OR (embedding IS NOT NULL AND array_ndims(modality_embeddings) = 1
           AND cardinality(modality_embeddings) % cardinality(embedding) = 0
           AND cardinality(modality_embeddings) <= 64 * cardinality(embedding)));
