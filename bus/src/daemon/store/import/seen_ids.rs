//! The ids of the lines an import has validated so far, in ~20 bytes each whatever their
//! length: a 64-bit hash of each id and the offset in the file of the first line with an
//! id of that hash. When a later id has a hash already seen, the earlier line is read
//! again to tell a duplicate from a collision of hashes; the rare ids whose hash another
//! id already has are kept whole. (A set of the ids themselves took ~200 MB per 1,000,000
//! events, for an import of any size.)

use super::file::Lines;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::io;
use std::path::{Path, PathBuf};

/// The ids seen so far (see the module doc).
pub(super) struct SeenIds<S = RandomState> {
    /// The export file the offsets point into.
    file: PathBuf,
    /// Hashes ids (keyed at random, so that no file can be made to collide on purpose).
    hasher: S,
    /// The hash of an id → the offset of the first record with an id of that hash.
    first_of_hash: HashMap<u64, u64>,
    /// Ids whose hash a different, earlier id already had.
    collided: HashSet<Box<str>>,
}

/// The one field of an earlier record that a collision needs.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

impl SeenIds {
    /// No id seen yet, in `file`.
    pub(super) fn new(file: &Path) -> Self {
        Self::with_hasher(file, RandomState::new())
    }
}

impl<S: BuildHasher> SeenIds<S> {
    pub(super) fn with_hasher(file: &Path, hasher: S) -> Self {
        Self {
            file: file.into(),
            hasher,
            first_of_hash: HashMap::new(),
            collided: HashSet::new(),
        }
    }

    /// Remembers `id`, the id of the record at byte `offset` of the file: `false` if an
    /// earlier record has it already.
    pub(super) fn insert(&mut self, id: &str, offset: u64) -> io::Result<bool> {
        let first = match self.first_of_hash.entry(self.hasher.hash_one(id)) {
            Entry::Vacant(vacant) => {
                vacant.insert(offset);
                return Ok(true);
            }
            Entry::Occupied(occupied) => *occupied.get(),
        };
        if self.id_at(first)? == id {
            return Ok(false);
        }
        Ok(self.collided.insert(id.into()))
    }

    /// The id of the record at `offset`, read again from the file.
    fn id_at(&self, offset: u64) -> io::Result<String> {
        let mut lines = Lines::open_at(&self.file, offset)?;
        let changed = || io::Error::new(io::ErrorKind::InvalidData, "it changed while read");
        let (_, record) = lines.next_record()?.ok_or_else(changed)?;
        let earlier: IdOnly<'_> = serde_json::from_slice(record).map_err(|_| changed())?;
        Ok(earlier.id.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasherDefault;

    /// A hasher that hashes everything to 0: every id after the first collides.
    #[derive(Default)]
    struct Zero;

    impl std::hash::Hasher for Zero {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, _: &[u8]) {}
    }

    /// A file of one record per id; the offset of each.
    fn file_of(dir: &Path, ids: &[&str]) -> (PathBuf, Vec<u64>) {
        let path = dir.join("ids.ndjson");
        let (mut text, mut offsets) = (String::new(), Vec::new());
        for id in ids {
            offsets.push(text.len() as u64);
            text.push_str(&format!("{{\"seq\":1,\"id\":{id:?},\"data\":{{}}}}\n"));
        }
        std::fs::write(&path, text).expect("write");
        (path, offsets)
    }

    /// Inserts each id at its offset: whether each was new.
    fn inserted<S: BuildHasher>(seen: &mut SeenIds<S>, ids: &[&str], offsets: &[u64]) -> Vec<bool> {
        ids.iter()
            .zip(offsets)
            .map(|(id, offset)| seen.insert(id, *offset).expect("read"))
            .collect()
    }

    #[test]
    fn a_repeated_id_is_found_and_distinct_ids_pass() {
        let dir = tempfile::tempdir().expect("dir");
        let ids = ["a", "b", "é-long-id-with-unicode", "b", "c", "a"];
        let (path, offsets) = file_of(dir.path(), &ids);
        let mut seen = SeenIds::new(&path);
        let news = inserted(&mut seen, &ids, &offsets);
        assert_eq!(news, [true, true, true, false, true, false]);
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_the_ids_themselves() {
        let dir = tempfile::tempdir().expect("dir");
        // Every id has the same hash: the first is kept by its offset, the others whole.
        let ids = ["a", "b", "c", "b", "a", "d", "c", "d"];
        let (path, offsets) = file_of(dir.path(), &ids);
        let mut seen = SeenIds::with_hasher(&path, BuildHasherDefault::<Zero>::default());
        let news = inserted(&mut seen, &ids, &offsets);
        assert_eq!(news, [true, true, true, false, false, true, false, false]);
        assert_eq!(seen.first_of_hash.len(), 1);
        assert_eq!(seen.collided.len(), 3);
    }

    #[test]
    fn a_record_that_changed_under_it_is_an_error_not_a_verdict() {
        let dir = tempfile::tempdir().expect("dir");
        let (path, offsets) = file_of(dir.path(), &["a", "b"]);
        let mut seen = SeenIds::with_hasher(&path, BuildHasherDefault::<Zero>::default());
        assert!(seen.insert("a", offsets[0]).expect("read"));
        std::fs::write(&path, "not json\n").expect("rewrite");
        let e = seen
            .insert("b", offsets[1])
            .expect_err("the first line no longer reads");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
