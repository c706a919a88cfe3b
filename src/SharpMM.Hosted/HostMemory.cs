using System;
using System.Runtime.InteropServices;

namespace SharpMM.Hosted;

/// <summary>
/// A block of host address space reserved with mmap(MAP_NORESERVE): the kernel commits a page
/// only when it is first touched, so a 64 GiB simulated machine costs what it uses.
///
/// The block is followed by <see cref="GuardBytes"/> of inaccessible address space (PROT_NONE,
/// costing nothing): an access past the end of simulated RAM faults at once instead of
/// silently reading or corrupting whatever the host process had mapped there.
/// </summary>
public sealed unsafe class HostMemory : IDisposable
{
    private const int ProtNone = 0, ProtRead = 1, ProtWrite = 2;
    private const int MapPrivate = 0x02, MapFixed = 0x10, MapAnonymous = 0x20, MapNoReserve = 0x4000, MapPopulate = 0x8000;

    /// <summary>Inaccessible address space after the block (1 GiB).</summary>
    public const ulong GuardBytes = 1UL << 30;

    [DllImport("libc", SetLastError = true)]
    private static extern nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    private static extern int munmap(nint addr, nuint length);

    /// <summary>First byte.</summary>
    public byte* Base { get; private set; }

    /// <summary>Size in bytes.</summary>
    public ulong Size { get; }

    /// <summary>Reserves <paramref name="size"/> bytes (rounded up to 4 KiB), zero-filled on first
    /// touch; with <paramref name="populate"/>, every page is committed at once (MAP_POPULATE), as
    /// the C benchmark references map their arenas, so that no page fault lands in a measurement.</summary>
    public HostMemory(ulong size, bool populate = false)
    {
        if (size == 0) throw new ArgumentOutOfRangeException(nameof(size), "size must be positive");
        Size = (size + 4095) & ~4095UL;
        // Reserve block + guard inaccessible, then make the block usable in place.
        nint p = mmap(0, (nuint)(Size + GuardBytes), ProtNone, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (p == -1) throw new InvalidOperationException($"mmap of {Size} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        nint q = mmap(p, (nuint)Size, ProtRead | ProtWrite, MapPrivate | MapFixed | MapAnonymous | MapNoReserve | (populate ? MapPopulate : 0), -1, 0);
        if (q != p)
        {
            int errno = Marshal.GetLastPInvokeError();
            munmap(p, (nuint)(Size + GuardBytes));
            throw new InvalidOperationException($"mmap of {Size} bytes failed (errno {errno})");
        }
        Base = (byte*)p;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (Base != null) { munmap((nint)Base, (nuint)(Size + GuardBytes)); Base = null; }
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the mapping if Dispose was not called.</summary>
    ~HostMemory() { if (Base != null) munmap((nint)Base, (nuint)(Size + GuardBytes)); }
}
