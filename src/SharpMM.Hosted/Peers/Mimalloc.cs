using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Peers;

/// <summary>mimalloc (Debian libmimalloc2.0: libmimalloc.so.2, mi_malloc/mi_free).</summary>
public unsafe struct Mimalloc : IMalloc
{
    /// <summary>The shared object loaded.</summary>
    public const string Library = "libmimalloc.so.2";

    [DllImport(Library, EntryPoint = "mi_malloc", ExactSpelling = true), SuppressGCTransition]
    private static extern void* NativeMalloc(nuint size);

    [DllImport(Library, EntryPoint = "mi_free", ExactSpelling = true), SuppressGCTransition]
    private static extern void NativeFree(void* p);

    /// <inheritdoc/>
    public void* Malloc(nuint size) => NativeMalloc(size);

    /// <inheritdoc/>
    public bool Free(void* p) { NativeFree(p); return true; }

    /// <inheritdoc/>
    public ulong HeldBytes() => ProcessMemory.ResidentBytes();
}
