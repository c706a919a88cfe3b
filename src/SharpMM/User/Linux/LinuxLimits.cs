namespace SharpMM.User.Linux;

/// <summary>
/// A process's memory limits, as its resource limits give them (the process holds them; fork
/// copies them). ulong.MaxValue: unlimited (RLIM_INFINITY).
/// </summary>
public struct LinuxLimits
{
    /// <summary>RLIMIT_AS: the most bytes of regions the space may hold (mmap, mremap and brk
    /// beyond it fail with ENOMEM).</summary>
    public ulong AddressSpaceBytes;
    /// <summary>RLIMIT_DATA, for brk: the most bytes between the start of the heap and the break
    /// (Linux also counts the data segment; here the heap alone).</summary>
    public ulong DataBytes;

    /// <summary>No limit on either.</summary>
    public static LinuxLimits Unlimited => new LinuxLimits { AddressSpaceBytes = ulong.MaxValue, DataBytes = ulong.MaxValue };
}
