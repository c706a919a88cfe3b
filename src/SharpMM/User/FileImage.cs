namespace SharpMM.User;

/// <summary>
/// A read-only file as private file mappings see it: <see cref="Length"/> bytes at
/// <see cref="Data"/> (kernel memory the caller owns, never written through a mapping). A
/// region's page is copied from it on first touch, the bytes past <see cref="Length"/> zero.
/// The image must stay valid and unchanged while any region names it (forked children
/// included): an unwritten page may be dropped and read from it again at any time.
/// </summary>
public unsafe struct FileImage
{
    /// <summary>The file's bytes.</summary>
    public byte* Data;
    /// <summary>The file's size in bytes.</summary>
    public ulong Length;
}
