using System;

namespace SharpMM.Cli;

/// <summary>Bad command-line input or a bad input file: one line on stderr, exit status 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
