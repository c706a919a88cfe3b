using System.Runtime.InteropServices;

namespace SharpMM.Heap;

/// <summary>
/// The 16 bytes in front of a large kmalloc block (the classic {size, magic} header): the
/// requested size, a magic that also folds in the size (so a header whose size was overwritten
/// fails the check), and the allocation site in debug mode. kfree trusts nothing here until the
/// owner table says the page starts a live large block, the magic matches the size and the size
/// needs exactly that block's order.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct LargeHeader
{
    /// <summary>Header bytes (the returned pointer is the block's start plus this).</summary>
    public const uint Bytes = 16;
    private const uint MagicBase = 0x4B4D4C47; // "KMLG"

    /// <summary>Bytes requested.</summary>
    public ulong Size;
    /// <summary><see cref="MagicFor"/>(Size).</summary>
    public uint Magic;
    /// <summary>Allocation site (debug mode; 0 otherwise).</summary>
    public uint Site;

    /// <summary>The magic a header of <paramref name="size"/> carries.</summary>
    public static uint MagicFor(ulong size) => MagicBase ^ (uint)size ^ (uint)(size >> 32) ^ 0x9E3779B9u * (uint)(size >> 12);
}
