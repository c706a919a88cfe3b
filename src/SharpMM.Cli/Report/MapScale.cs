namespace SharpMM.Cli.Report;

/// <summary>How the physical map places an address on the page: in proportion (linear), or by
/// log2 of the page number (log), which gives a sparse map's low megabytes and its far
/// reservations each room to be seen.</summary>
internal enum MapScale
{
    Linear,
    Log,
}
