using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// The host's page-fault handler (vector 14). It runs with CR2 and <see cref="Mmu.LastFault"/> set
/// and may use the MMU itself (nested faults overwrite CR2, as on hardware).
/// </summary>
/// <param name="mmu">The MMU that faulted.</param>
/// <param name="fault">The faulting linear address and the x86 error code.</param>
/// <returns>Retry once the tables are fixed, Fail to let the access fail.</returns>
public delegate FaultResolution PageFaultHandler(Mmu mmu, PageFault fault);
