namespace SharpMM.Hosted.Machine;

/// <summary>How the tables differ from what a cached translation was built from.</summary>
public enum StaleKind
{
    /// <summary>A fresh walk finds a not-present entry.</summary>
    NotPresent,
    /// <summary>A fresh walk finds a reserved bit set.</summary>
    ReservedBit,
    /// <summary>A fresh walk reaches a table outside RAM.</summary>
    TableOutsideRam,
    /// <summary>The address now maps another frame or a page of another size.</summary>
    MappingChanged,
    /// <summary>The tables no longer allow the access the stale entry let through.</summary>
    RightsReduced,
    /// <summary>The leaf's Dirty bit was cleared: writes through the stale entry will not set it again.</summary>
    DirtyCleared,
    /// <summary>The G bit or a caching attribute (PWT, PCD, PAT) changed.</summary>
    AttributesChanged,
    /// <summary>Rights were raised, or an interpreted bit changed without changing the translation
    /// (a violation only under <see cref="StalePolicy.ReportAnyChange"/>).</summary>
    HarmlessChange,
    /// <summary>PAE only: a PDPTE changed in memory without a CR3 load; the walk still uses the PDPTE
    /// register loaded from the old value (SDM vol. 3A, 4.4.1).</summary>
    PdpteNotReloaded,
}
