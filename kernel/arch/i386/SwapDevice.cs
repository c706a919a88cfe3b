namespace SharpMM.Kernel;

/// <summary>
/// The run's backing store on i386: none. The x86-64 kernel pages user memory out to an
/// ivshmem device whose memory BAR QEMU places above 4 GiB, which a legacy-paging i386 kernel
/// cannot map; a program that needs more than the guest's RAM is killed at the fault instead.
/// </summary>
internal static unsafe class SwapDevice
{
    /// <summary>Always Unsupported: no swap device on this kernel.</summary>
    public static Status Map(out byte* area, out ulong bytes)
    {
        area = null;
        bytes = 0;
        return Status.Unsupported;
    }
}
