namespace SharpMM.Paging;

/// <summary>Whether a changed leaf was global (x86 G, RISC-V G): a global translation survives
/// a root reload (CR3 or satp write), so only a per-page invalidation or a full flush that
/// includes global entries removes it.</summary>
public enum PageGlobality
{
    /// <summary>Neither the old nor the new leaf was global.</summary>
    NotGlobal,
    /// <summary>The old or the new leaf was global.</summary>
    Global,
}
