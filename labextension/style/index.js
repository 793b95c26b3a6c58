import '@xyflow/react/dist/style.css';
import './palette.css';
import './base.css';
import './dag.css';
import './controls.css';
import './serving.css';
import './cluster.css';
import './lineage.css';
