namespace SharpMM.User;

/// <summary>Whole-page zeroing and copying through the direct map (what a user must never see:
/// a page with another process's old data, so every frame is zeroed or fully overwritten
/// before it is mapped).</summary>
public static unsafe class PageData
{
    /// <summary>Zeroes the 4 KiB page at <paramref name="page"/>.</summary>
    public static void Zero(byte* page) => new System.Span<byte>(page, (int)Addressing.PageSize.Bytes).Clear();

    /// <summary>Copies the 4 KiB page <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void Copy(byte* destination, byte* source) =>
        System.Buffer.MemoryCopy(source, destination, (long)Addressing.PageSize.Bytes, (long)Addressing.PageSize.Bytes);

    /// <summary>Copies <paramref name="bytes"/> bytes (non-overlapping).</summary>
    public static void CopyBytes(byte* destination, byte* source, ulong bytes) =>
        System.Buffer.MemoryCopy(source, destination, (long)bytes, (long)bytes);
}
