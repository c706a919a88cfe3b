namespace System
{
    /// <summary>The primitive <c>sbyte</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct SByte
    {
        private readonly sbyte m_value;

        /// <summary>The largest value.</summary>
        public const sbyte MaxValue = 127;
        /// <summary>The smallest value.</summary>
        public const sbyte MinValue = -128;

        public bool Equals(sbyte other) => m_value == other;
        public override bool Equals(object obj) => obj is sbyte v && v == m_value;
        public int CompareTo(sbyte other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value;
    }
}
