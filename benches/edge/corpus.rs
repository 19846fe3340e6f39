//! The knowledge scenario's documents, the same in every process that needs them: assist gets
//! them through its API, the SurrealDB reference embeds the same passages itself.
//!
//! Filler passages are pseudo-random words (seeded by org, document and passage), drawn from a
//! vocabulary that holds the planted answer's words too, so a filler passage can share words
//! with the query. Each org has one planted answer, worded like every other org's but with its
//! own numbers.

/// Passages per filler document: one embeddings call each (ingestion embeds 64 at a time).
pub(crate) const PASSAGES_PER_DOC: usize = 50;
/// Filler passages stay under the chunk size less its overlap, so each is one chunk.
const PASSAGE_CHARS: usize = 780;
/// What every org is asked; only its planted answer holds all of these words.
pub(crate) const QUERY: &str = "within how many days do orders ship from the warehouse";

const VOCABULARY: &str = "\
    account address after agent all also answer any apply around available basket before billing \
    book brand business call card care cart change check city clean close code colour contact cost \
    country courier cover customer damage date days delivery deposit design discount door early \
    email every exchange extra fabric family fast fee find first form free from friday gift glass \
    guide hand help holiday home hours invoice item kitchen label large late leather light list \
    local login loyalty make manual member metal model monday month name need new night note number \
    offer office online open order orders outlet pack paper parcel part pay payment phone photo \
    place plan point policy price print product promise question quick receipt refund repair replace \
    return room safe sale schedule season service ship shop size small sofa spare staff standard \
    stock store style support table team the ticket time track trade travel under unit update value \
    van voucher wait warehouse warranty week weekend when within wood work year zone";

/// xorshift64*, enough to spread words; the same seed always gives the same text.
struct Words {
    state: u64,
    vocabulary: Vec<&'static str>,
}

impl Words {
    fn new(seed: u64) -> Self {
        Self {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            vocabulary: VOCABULARY.split_whitespace().collect(),
        }
    }
    fn next(&mut self) -> &'static str {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let at = (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize;
        self.vocabulary[at % self.vocabulary.len()]
    }
}

/// One filler passage: sentences of random words, just under [`PASSAGE_CHARS`].
pub(crate) fn passage(org: usize, doc: usize, at: usize) -> String {
    let mut words = Words::new(((org as u64) << 40) ^ ((doc as u64) << 20) ^ at as u64);
    let mut text = String::with_capacity(PASSAGE_CHARS + 16);
    let mut in_sentence = 0;
    loop {
        let word = words.next();
        if text.len() + word.len() + 2 > PASSAGE_CHARS {
            break;
        }
        if in_sentence == 0 {
            let mut first = word.chars();
            text.extend(first.next().map(|c| c.to_ascii_uppercase()));
            text.push_str(first.as_str());
        } else {
            text.push(' ');
            text.push_str(word);
        }
        in_sentence += 1;
        if in_sentence == 12 {
            text.push_str(". ");
            in_sentence = 0;
        }
    }
    text.truncate(text.trim_end().len());
    text.push('.');
    text
}

/// A filler document: [`PASSAGES_PER_DOC`] passages, one paragraph each.
pub(crate) fn document(org: usize, doc: usize) -> String {
    (0..PASSAGES_PER_DOC).map(|at| passage(org, doc, at)).collect::<Vec<_>>().join("\n\n")
}

/// The org's planted answer: every org's reads the same but for its numbers.
pub(crate) fn planted(org: usize) -> String {
    format!(
        "Orders ship from the warehouse within {} days; express delivery to zone {} costs {} euros.",
        2 + org % 9,
        org,
        5 + org % 40
    )
}
