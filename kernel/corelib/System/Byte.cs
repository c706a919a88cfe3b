namespace System
{
    /// <summary>The primitive <c>byte</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Byte
    {
        private readonly byte m_value;

        /// <summary>The largest value.</summary>
        public const byte MaxValue = 255;
        /// <summary>The smallest value.</summary>
        public const byte MinValue = 0;

        public bool Equals(byte other) => m_value == other;
        public override bool Equals(object obj) => obj is byte v && v == m_value;
        public int CompareTo(byte other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value;
    }
}
