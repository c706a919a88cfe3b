using System.Runtime.InteropServices;

namespace SharpMM.Hosted.Peers;

/// <summary>tcmalloc (Debian libtcmalloc-minimal4: libtcmalloc_minimal.so.4, tc_malloc/tc_free).</summary>
public unsafe struct Tcmalloc : IMalloc
{
    /// <summary>The shared object loaded.</summary>
    public const string Library = "libtcmalloc_minimal.so.4";

    [DllImport(Library, EntryPoint = "tc_malloc", ExactSpelling = true), SuppressGCTransition]
    private static extern void* NativeMalloc(nuint size);

    [DllImport(Library, EntryPoint = "tc_free", ExactSpelling = true), SuppressGCTransition]
    private static extern void NativeFree(void* p);

    /// <inheritdoc/>
    public void* Malloc(nuint size) => NativeMalloc(size);

    /// <inheritdoc/>
    public bool Free(void* p) { NativeFree(p); return true; }

    /// <inheritdoc/>
    public ulong HeldBytes() => ProcessMemory.ResidentBytes();
}
