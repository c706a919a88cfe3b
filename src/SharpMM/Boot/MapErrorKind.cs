namespace SharpMM.Boot;

/// <summary>What <see cref="MapError.Index"/> counts.</summary>
public enum MapErrorKind : byte
{
    /// <summary>The error concerns the input as a whole; Index is 0.</summary>
    None = 0,
    /// <summary>Index is a 1-based line number of a text input.</summary>
    Line,
    /// <summary>Index is a 0-based entry index of a binary map (or of a raw map given to the sanitizer).</summary>
    Entry,
    /// <summary>Index is a 0-based tag index of a Multiboot 2 boot-information structure.</summary>
    Tag,
}
