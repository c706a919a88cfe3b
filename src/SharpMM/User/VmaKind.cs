namespace SharpMM.User;

/// <summary>
/// What backs the pages of a region (a VMA) and so what a fault there does:
/// <code>
///   Anonymous    zero-filled on first touch; private; copy-on-write after fork; may be paged out
///   Stack        anonymous, and grows down on a fault below it, to its limit, never into the
///                guard gap above the region below it
///   StoreBacked  first touch reads the page from a persistent region's last good snapshot (or
///                zero when it has none); private after that (written pages never go back to the
///                object except through a snapshot); may be paged out
///   Device       caller-owned physical memory mapped eagerly, uncached; never paged, never
///                counted, shared as is by fork
///   Shared       anonymous, zero-filled on first touch, and shared with forked children
///                (MAP_SHARED | MAP_ANONYMOUS): fork populates every page of the region first and
///                maps the same frames writable in both spaces; never paged out
///   File         a private mapping of a read-only <see cref="FileImage"/>: first touch copies the
///                file's bytes (zero past its end); private after that (copy-on-write after fork);
///                an unwritten page is dropped by the clock and read from the file again
/// </code>
/// </summary>
public enum VmaKind : byte
{
    /// <summary>Zero-fill on demand.</summary>
    Anonymous,
    /// <summary>Zero-fill on demand, grows down.</summary>
    Stack,
    /// <summary>Filled from a persistent region's store.</summary>
    StoreBacked,
    /// <summary>A device's physical range (MMIO or a frame buffer).</summary>
    Device,
    /// <summary>Zero-fill on demand, shared with forked children.</summary>
    Shared,
    /// <summary>Filled from a file image, private.</summary>
    File,
}
