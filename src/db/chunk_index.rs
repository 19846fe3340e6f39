//! The embeddings of each org's live chunks, held in memory on the node that searches them, so a
//! search is one pass over a flat array instead of a read of every chunk. An org's entry is
//! dropped whenever its chunks change (`documents.rs`) and when its actor starts (it may have
//! changed on another node meanwhile); the whole is bounded in bytes.

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::chunks::VectorRow;
use crate::ids::OrgId;

/// Every vector of one org, row after row, with the chunk each belongs to.
#[derive(Debug, Default)]
pub(crate) struct OrgVectors {
    keys: Vec<String>,
    dimensions: usize,
    data: Vec<f32>,
}

impl OrgVectors {
    pub(super) fn from_rows(rows: Vec<VectorRow>) -> Self {
        let dimensions = rows.first().map_or(0, |row| row.embedding.len() / 4);
        let mut vectors = Self {
            keys: Vec::with_capacity(rows.len()),
            dimensions,
            data: Vec::with_capacity(rows.len() * dimensions),
        };
        for row in rows {
            // A vector of another size (the model changed) cannot be compared: left out.
            if row.embedding.len() != dimensions * 4 {
                continue;
            }
            vectors.keys.push(row.chunk);
            vectors
                .data
                .extend(row.embedding.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        }
        vectors
    }

    /// The `k` chunks with the largest dot product with `query` (cosine similarity: both are
    /// normalized), best first.
    pub(super) fn nearest(&self, query: &[f32], k: usize) -> Vec<(String, f32)> {
        if self.dimensions == 0 || query.len() != self.dimensions || k == 0 {
            return Vec::new();
        }
        let mut scored: Vec<(usize, f32)> = self
            .data
            .chunks_exact(self.dimensions)
            .enumerate()
            .map(|(row, vector)| (row, vector.iter().zip(query).map(|(a, b)| a * b).sum()))
            .collect();
        let k = k.min(scored.len());
        let by_score = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k < scored.len() {
            scored.select_nth_unstable_by(k, by_score);
            scored.truncate(k);
        }
        scored.sort_unstable_by(by_score);
        scored.into_iter().map(|(row, score)| (self.keys[row].clone(), score)).collect()
    }

    fn bytes(&self) -> u64 {
        let keys: usize = self.keys.iter().map(|k| k.len() + size_of::<String>()).sum();
        (keys + self.data.len() * size_of::<f32>()) as u64
    }
}

/// `vector` scaled to length 1 (unchanged when it is all zeros).
pub(super) fn normalized(vector: &[f32]) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return vector.to_vec();
    }
    vector.iter().map(|x| x / norm).collect()
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<OrgId, Arc<OrgVectors>> for ByBytes {
    fn weight(&self, _: &OrgId, vectors: &Arc<OrgVectors>) -> u64 {
        vectors.bytes().max(1)
    }
}

/// The node's cache of [`OrgVectors`], bounded in bytes.
pub(crate) struct ChunkIndex {
    cache: Cache<OrgId, Arc<OrgVectors>, ByBytes>,
}

impl std::fmt::Debug for ChunkIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkIndex").field("bytes", &self.cache.weight()).finish()
    }
}

impl ChunkIndex {
    pub(crate) fn new(max_bytes: u64) -> Self {
        Self { cache: Cache::with_weighter(1024, max_bytes.max(1), ByBytes) }
    }

    pub(super) fn get(&self, org: &OrgId) -> Option<Arc<OrgVectors>> {
        self.cache.get(org)
    }

    /// Keeps `vectors` (when they fit) and hands them back.
    pub(super) fn keep(&self, org: &OrgId, vectors: OrgVectors) -> Arc<OrgVectors> {
        let vectors = Arc::new(vectors);
        self.cache.insert(org.clone(), vectors.clone());
        vectors
    }

    pub(crate) fn forget(&self, org: &OrgId) {
        self.cache.remove(org);
    }

    /// Bytes held now.
    pub(crate) fn bytes(&self) -> u64 {
        self.cache.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(chunk: &str, vector: &[f32]) -> VectorRow {
        let bytes: Vec<u8> = normalized(vector).iter().flat_map(|x| x.to_le_bytes()).collect();
        VectorRow { chunk: chunk.into(), embedding: bytes.into() }
    }

    #[test]
    fn the_nearest_chunks_come_best_first() {
        let vectors = OrgVectors::from_rows(vec![
            row("far", &[0.0, 1.0, 0.0]),
            row("near", &[1.0, 0.1, 0.0]),
            row("exact", &[1.0, 0.0, 0.0]),
            row("odd", &[1.0, 0.0]),
        ]);
        let found = vectors.nearest(&normalized(&[2.0, 0.0, 0.0]), 2);
        let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["exact", "near"]);
        assert!((found[0].1 - 1.0).abs() < 1e-6);
        assert_eq!(vectors.nearest(&[1.0, 0.0, 0.0], 10).len(), 3, "a vector of another size is left out");
        assert!(vectors.nearest(&[1.0, 0.0], 3).is_empty(), "a query of another size matches nothing");
    }
}
