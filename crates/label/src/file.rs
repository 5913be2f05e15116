//! Reading a file for labeling: what it is, which codec carries its label, and the codec calls
//! themselves, guarded against hostile input and checked on the way out.

use crate::{generic, mail, odf, ole, ooxml, pdf};
use crate::{Change, Error, Found, Metadata, MsipLabel};
use mamori_extract::{Container, Format, Head};
use std::path::Path;

/// How a format carries labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Ooxml,
    Odf,
    Pdf,
    Mail,
    /// User-defined properties of Office 97-2003 files.
    Ole,
    /// An extended attribute: any other file.
    Xattr,
}

/// Larger documents are not rewritten (they are read whole to be rewritten).
const MAX_REWRITE: u64 = 2 << 30;

/// A file as read for labeling.
pub(crate) struct Loaded {
    pub format: &'static str,
    pub codec: Codec,
    /// The whole file, for the codecs that rewrite it.
    pub data: Vec<u8>,
    pub seen: std::fs::Metadata,
    pub found: Vec<Found>,
}

pub(crate) fn load(path: &Path) -> Result<Loaded, Error> {
    use std::io::Read;
    let io = |e| Error::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let seen = file.metadata().map_err(io)?;
    if !seen.is_file() {
        return Err(Error::Refused { reason: "not a regular file".into() });
    }
    let mut data = Vec::with_capacity(64 << 10);
    file.by_ref().take(64 << 10).read_to_end(&mut data).map_err(io)?;
    // Documents and mail are read whole (they are rewritten whole); other files only carry an
    // extended attribute, so their head is enough, however big they are.
    let head = mamori_extract::detect_head(&data);
    if head == Head::Protected {
        return Err(Error::Refused {
            reason:
                "protected by mamori: its label is in the signed header; unprotect it, label it, and protect it again"
                    .into(),
        });
    }
    let whole = needs_whole(&mut file, head, seen.len());
    if whole {
        if seen.len() > MAX_REWRITE {
            return Err(Error::Unsupported {
                format: "document".into(),
                reason: format!("{} bytes is too big to rewrite", seen.len()),
            });
        }
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(data.len() as u64)).map_err(io)?;
        file.read_to_end(&mut data).map_err(io)?;
    }
    let (format, codec) = if whole { kind_of(head, &data)? } else { (head_format(head), Codec::Xattr) };
    let found = match codec {
        Codec::Xattr => generic::read(path)?,
        _ => read_with(codec, &data)?,
    };
    Ok(Loaded { format, codec, data, seen, found })
}

/// Containers and compound files above this are named by their magic number alone.
const MAX_SNIFF: u64 = 256 << 20;

/// Must the whole file be read to label it? Mail, PDF and Office/ODF packages carry the label
/// inside; a plain zip of any size does not (its central directory tells, without reading it).
fn needs_whole(file: &mut std::fs::File, kind: Head, len: u64) -> bool {
    match kind {
        Head::Markup(Format::Eml) => true,
        Head::Whole(Container::Zip) => match zip::ZipArchive::new(&mut *file) {
            Ok(z) => z.index_for_name("[Content_Types].xml").is_some() || z.index_for_name("mimetype").is_some(),
            Err(_) => len <= MAX_SNIFF,
        },
        Head::Whole(Container::Pdf) => true,
        Head::Whole(_) => len <= MAX_SNIFF,
        _ => false,
    }
}

/// The format of a file read only in part, for the `format` field.
fn head_format(kind: Head) -> &'static str {
    match kind {
        Head::Markup(f) => f.name(),
        Head::Whole(c) => c.name(),
        Head::Unsupported { format, .. } => format,
        Head::Protected => "mamori",
        Head::Text => "file",
    }
}

/// What a whole file is and how it carries labels, from its content.
fn kind(data: &[u8]) -> Result<(&'static str, Codec), Error> {
    kind_of(mamori_extract::detect_head(&data[..data.len().min(64 << 10)]), data)
}

/// [`kind`], for a file whose head was already sniffed.
fn kind_of(sniffed: Head, data: &[u8]) -> Result<(&'static str, Codec), Error> {
    let (format, codec) = match sniffed {
        Head::Markup(Format::Eml) => (Format::Eml, Codec::Mail),
        Head::Whole(_) => {
            let format = match mamori_extract::detect(data) {
                Ok(f) => f,
                Err(mamori_extract::Error::Encrypted(reason)) => return Err(Error::Encrypted { reason }),
                Err(e) => return Err(Error::Corrupt { reason: e.to_string() }),
            };
            let codec = match format {
                Format::Docx | Format::Docm | Format::Xlsx | Format::Xlsm | Format::Pptx | Format::Pptm => Codec::Ooxml,
                Format::Odt | Format::Ods | Format::Odp => Codec::Odf,
                Format::Pdf => Codec::Pdf,
                Format::Doc | Format::Xls | Format::Ppt => Codec::Ole,
                _ => Codec::Xattr,
            };
            (format, codec)
        }
        _ => return Ok((head_format(sniffed), Codec::Xattr)),
    };
    Ok((format.name(), codec))
}

fn read_with(codec: Codec, data: &[u8]) -> Result<Vec<Found>, Error> {
    guarded(|| match codec {
        Codec::Ooxml => ooxml::read(data),
        Codec::Odf => odf::read(data),
        Codec::Pdf => pdf::read(data),
        Codec::Mail => mail::read(data),
        Codec::Ole => ole::read(data),
        Codec::Xattr => Ok(Vec::new()),
    })
}

/// The labels inside a document held in memory (a file's extended attribute is not part of
/// its bytes, so a plain file has none here). For the scanner and the fuzzer.
pub fn read_bytes(data: &[u8]) -> Result<Vec<Found>, Error> {
    let (_, codec) = kind(data)?;
    read_with(codec, data)
}

/// A document held in memory with the label of tenant `site_id` replaced by `label` (`None`:
/// removed). Plain files, whose label is an extended attribute, are `Unsupported` here.
pub fn relabel_bytes(
    data: &[u8],
    site_id: &str,
    label: Option<&MsipLabel>,
    metadata: Metadata,
) -> Result<Vec<u8>, Error> {
    let (format, codec) = kind(data)?;
    let found = read_with(codec, data)?;
    rewrite(format, codec, data, &Change::new(site_id, label, metadata, &found), &found)
}

/// Applies `change` to a document whose format, codec and labels (`found`) are known.
pub(crate) fn rewrite(
    format: &str,
    codec: Codec,
    data: &[u8],
    change: &Change,
    found: &[Found],
) -> Result<Vec<u8>, Error> {
    let out = guarded(|| match codec {
        Codec::Ooxml => ooxml::write(data, change),
        Codec::Odf => odf::write(data, change),
        Codec::Pdf => pdf::write(data, change),
        Codec::Mail => mail::write(data, change, found),
        Codec::Ole => ole::write(data, change),
        Codec::Xattr => Err(Error::Unsupported {
            format: format.into(),
            reason: "its label is an extended attribute of the file, not part of its bytes".into(),
        }),
    })?;
    // Never write what does not read back as intended (a damaged file can parse once and not
    // twice): the original is left as it was.
    let refuse = |why: String| Error::Corrupt {
        reason: format!("the {format} could not be relabeled safely ({why}); it was left as it was"),
    };
    let back = read_bytes(&out).map_err(|e| refuse(e.to_string()))?;
    let live = |f: &&Found| f.label.site_id == change.site_id && f.label.enabled && !f.label.removed;
    let holds = match &change.label {
        Some(l) => back.iter().filter(live).any(|f| f.label.id == l.id),
        None => !back.iter().any(|f| live(&f)),
    };
    if !holds {
        return Err(refuse("the rewritten file does not read back with the new label".into()));
    }
    Ok(out)
}

/// A panic in a parser, on hostile input, is a corrupt file, not a crash.
fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::Corrupt { reason: "the file is malformed (its parser gave up)".into() }))
}

impl Loaded {
    /// The label people see: this tenant's, else the first other one in force.
    pub fn main(&self, site_id: &str) -> Option<&Found> {
        let live = || self.found.iter().filter(|f| f.label.enabled && !f.label.removed);
        live().find(|f| f.label.site_id == site_id).or_else(|| live().next())
    }

    pub fn ours(&self, site_id: &str) -> Option<&Found> {
        self.found.iter().find(|f| f.label.site_id == site_id && f.label.enabled && !f.label.removed)
    }
}
