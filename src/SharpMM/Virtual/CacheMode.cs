namespace SharpMM.Virtual;

/// <summary>How a mapping is cached (x86 PWT/PCD without PAT).</summary>
public enum CacheMode : byte
{
    /// <summary>Normal RAM: write-back.</summary>
    WriteBack,
    /// <summary>Write-through (PWT).</summary>
    WriteThrough,
    /// <summary>Uncached (PCD | PWT): device registers.</summary>
    Uncached,
}
