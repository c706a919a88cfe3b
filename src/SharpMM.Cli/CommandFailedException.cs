using System;

namespace SharpMM.Cli;

/// <summary>What the command ran failed (a boot step refused, a check did not hold): one line on
/// stderr, exit status 1.</summary>
internal sealed class CommandFailedException(string message) : Exception(message);
